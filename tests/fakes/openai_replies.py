"""Reply bodies for the fake OpenAI server: structured answers made from the request's JSON
schema, real PNG images and real WAV speech, in the shapes the `openai` SDK parses."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import struct
import time
import uuid
import wave
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import Any

from PIL import Image, ImageDraw

REFUSAL = "I'm sorry, but I can't help with that request."
JSON = "application/json"

# Readable sample text for the fields of our own schemas; other fields get a generic sentence.
_SAMPLES = {
    "title": "How volcanoes work",
    "intro": "Have you ever wondered what happens deep inside a volcano?",
    "main": "Hot rock melts far below the ground. The magma rises, pressure builds, and "
            "finally it bursts out as lava, ash and gas.",
    "outro": "Now you know why volcanoes erupt. Stay curious!",
    "narration": "Magma rises through the crust",
    "image_prompt": "A wide view of a smoking volcano at dusk, scene {n}",
    "look": "soft painterly illustration, warm rim light, wide lens",
    "medium": "soft painterly illustration, wide lens",
    "palette": "ember orange, basalt grey, dusk violet, ash white",
    "lighting": "warm rim light at dusk",
    "characters": "none",
    "name": "Ada {n}",
    "description": "a geologist in a yellow coat and a red helmet",
    "prompts": "slow push in as smoke drifts upward, scene {n}",
}


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str
    data: bytes = field(repr=False)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """{name, schema, strict} of a structured-output request (Responses or Chat), else None."""
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        return {k: fmt.get(k) for k in ("name", "schema", "strict")}
    chat = body.get("response_format") or {}
    if chat.get("type") == "json_schema":
        spec = chat.get("json_schema") or {}
        return {k: spec.get(k) for k in ("name", "schema", "strict")}
    return None


def strict_problem(schema: dict[str, Any], path: str = "root") -> str | None:
    """Why OpenAI's strict mode would reject this schema, like the real API does, or None."""
    for name, sub in (schema.get("$defs") or {}).items():
        if problem := strict_problem(sub, f"{path}.$defs.{name}"):
            return problem
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            return f"In context={path}, 'additionalProperties' is required to be supplied " \
                   "and to be false."
        props = schema.get("properties") or {}
        if sorted(schema.get("required") or []) != sorted(props):
            return f"In context={path}, 'required' is required to be supplied and to be an " \
                   "array including every key in properties."
        for key, sub in props.items():
            if problem := strict_problem(sub, f"{path}.{key}"):
                return problem
    if isinstance(schema.get("items"), dict):
        return strict_problem(schema["items"], f"{path}.items")
    for i, variant in enumerate(schema.get("anyOf") or []):
        if problem := strict_problem(variant, f"{path}.anyOf.{i}"):
            return problem
    return None


def sample(schema: dict[str, Any], root: dict[str, Any], key: str = "", index: int = 0) -> Any:
    """A value valid for `schema`: arrays get minItems items, strings a readable sentence."""
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return sample(target, root, key, index)
    if "anyOf" in schema:
        variants = [v for v in schema["anyOf"] if v.get("type") != "null"] or schema["anyOf"]
        return sample(variants[0], root, key, index)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: sample(sub, root, name, index) for name, sub in props.items()}
    if kind == "array":
        count = schema.get("minItems", min(schema.get("maxItems", 3), 3))
        items = schema.get("items") or {"type": "string"}
        return [sample(items, root, key, i) for i in range(count)]
    if kind == "string":
        text = _SAMPLES.get(key, f"Sample {key.replace('_', ' ') or 'text'} {{n}}")
        return text.format(n=index + 1)
    if kind == "integer":
        return index
    if kind == "number":
        return float(index)
    if kind == "boolean":
        return False
    return None


def response_body(model: str, text: str | None, *, refusal: bool = False,
                  filtered: bool = False, tokens_in: int = 1) -> dict[str, Any]:
    """A Responses API reply whose message holds `text` (or a refusal)."""
    content: dict[str, Any] = (
        {"type": "refusal", "refusal": REFUSAL} if refusal
        else {"type": "output_text", "text": text or "", "annotations": [], "logprobs": []}
    )
    tokens_out = max(1, len(text or REFUSAL) // 4)
    return {
        "id": new_id("resp"), "object": "response", "created_at": time.time(),
        "status": "incomplete" if filtered else "completed", "model": model,
        "incomplete_details": {"reason": "content_filter"} if filtered else None,
        "error": None, "instructions": None, "metadata": {}, "parallel_tool_calls": True,
        "tool_choice": "auto", "tools": [], "temperature": 1.0, "top_p": 1.0,
        "output": [{
            "type": "message", "id": new_id("msg"), "status": "completed",
            "role": "assistant", "content": [content],
        }],
        "usage": {
            "input_tokens": tokens_in, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": tokens_out, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": tokens_in + tokens_out,
        },
    }


def chat_body(model: str, text: str | None, *, refusal: bool = False,
              filtered: bool = False, tokens_in: int = 1) -> dict[str, Any]:
    """A Chat Completions reply whose message holds `text` (or a refusal)."""
    tokens_out = max(1, len(text or REFUSAL) // 4)
    return {
        "id": new_id("chatcmpl"), "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0, "logprobs": None,
            "finish_reason": "content_filter" if filtered else "stop",
            "message": {
                "role": "assistant", "annotations": [],
                "content": None if refusal else text,
                "refusal": REFUSAL if refusal else None,
            },
        }],
        "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                  "total_tokens": tokens_in + tokens_out},
    }


def png_bytes(prompt: str, size: tuple[int, int]) -> bytes:
    """A real PNG of `size`: a colour from the prompt, with a frame and a diagonal to crop."""
    digest = hashlib.sha256(prompt.encode()).digest()
    image = Image.new("RGB", size, (digest[0], digest[1], digest[2]))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((0, 0, width - 1, height - 1), outline=(255, 255, 255), width=8)
    draw.line((0, 0, width, height), fill=(digest[3], digest[4], digest[5]), width=12)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def images_body(prompt: str, size: str, quality: str | None) -> dict[str, Any]:
    try:
        width, height = (int(v) for v in size.split("x"))
    except ValueError:
        width, height = 1024, 1024
    encoded = base64.b64encode(png_bytes(prompt, (width, height))).decode()
    return {
        "created": int(time.time()), "background": "opaque", "output_format": "png",
        "quality": quality if quality in ("low", "medium", "high") else "medium",
        "size": f"{width}x{height}", "data": [{"b64_json": encoded}],
        "usage": {"input_tokens": 50, "input_tokens_details": {"image_tokens": 0,
                                                               "text_tokens": 50},
                  "output_tokens": 1056, "total_tokens": 1106},
    }


def wav_bytes(seconds: float, rate: int = 24_000, pitch: float = 220.0) -> bytes:
    """A real 16-bit mono WAV: a quiet sine tone of `seconds`."""
    frames = int(seconds * rate)
    samples = (int(8000 * math.sin(2 * math.pi * pitch * i / rate)) for i in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{frames}h", *samples))
    return buffer.getvalue()


def speech_seconds(text: str) -> float:
    """About as long as a voice would take to read `text`, between 1 and 12 seconds."""
    return min(12.0, max(1.0, len(text.split()) / 2.5))


def transcription_body(text: str, language: str | None) -> dict[str, Any]:
    return {
        "text": text,
        "languages": [{"code": language}] if language else [],
        "usage": {"type": "duration", "seconds": 3.0},
    }


def error_body(status: int, message: str | None, code: str | None) -> dict[str, Any]:
    kinds = {400: "invalid_request_error", 401: "invalid_request_error",
             403: "permission_error", 404: "invalid_request_error", 429: "requests"}
    defaults = {
        400: "Invalid request.", 401: "Incorrect API key provided.", 403: "Forbidden.",
        404: "The model does not exist or you do not have access to it.",
        408: "Request timed out.", 409: "Conflict.", 422: "Unprocessable entity.",
        429: "Rate limit reached for requests.", 500: "The server had an error.",
        502: "Bad gateway.", 503: "The engine is currently overloaded.",
    }
    return {"error": {
        "message": message or defaults.get(status, f"Error {status}."),
        "type": kinds.get(status, "server_error"), "param": None, "code": code,
    }}


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def loads(body: bytes) -> dict[str, Any]:
    value = json.loads(body or b"{}")
    return value if isinstance(value, dict) else {}


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """The form fields and the uploaded files of a multipart/form-data body (the last file of
    a name sent several times: multipart_uploads has them all)."""
    form: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for name, part in multipart_parts(content_type, body):
        if isinstance(part, Upload):
            files[name] = part
        else:
            form[name] = part
    return form, files


def multipart_parts(content_type: str, body: bytes) -> list[tuple[str, Upload | str]]:
    """Every part of a multipart/form-data body, in order: (name, file or text)."""
    message = BytesParser(policy=email_policy).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts: list[tuple[str, Upload | str]] = []
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        data = bytes(part.get_payload(decode=True) or b"")
        filename = part.get_filename()
        if filename is not None:
            parts.append((name, Upload(filename, part.get_content_type(), data)))
        else:
            parts.append((name, data.decode()))
    return parts


def structured(endpoint: str, body: dict[str, Any], size: int, kind: str, text: str,
               fixed: dict[str, dict[str, Any]]) -> tuple[int, bytes, str]:
    """A Responses or Chat answer: the schema's sample (or a fixed reply for its name), or the
    content fault `kind` (refusal, text, wrap, filter); a non-strict schema is refused like
    OpenAI."""
    spec = requested_schema(body)
    schema = (spec or {}).get("schema") or {}
    if spec and spec.get("strict") and (problem := strict_problem(schema)):
        message = f"Invalid schema for response_format '{spec.get('name')}': {problem}"
        return 400, dumps(error_body(400, message, "invalid_json_schema")), JSON
    if kind != "text":
        answer = fixed.get(str((spec or {}).get("name")))
        generated = json.dumps(answer if answer is not None else sample(schema, schema)) \
            if spec else "Hello from the fake OpenAI server."
        text = text.replace("{json}", generated) if kind == "wrap" else generated
    if kind == "filter":
        text = text[: len(text) // 3]  # the filter stops the answer part way
    build = response_body if endpoint == "responses" else chat_body
    reply = build(str(body.get("model", "")), text, refusal=kind == "refusal",
                  filtered=kind == "filter", tokens_in=max(1, size // 4))
    return 200, dumps(reply), JSON
