"""The fake OpenAI server's endpoints: what it records of a request, the faults it queues per
endpoint, and the answer a request gets once past them (the bodies come from openai_replies.py
and openai_edits.py). FakeOpenAI (tests/fakes/openai_server.py) serves them over HTTP.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openai.types import image_generate_params
from openai.types.audio import speech_create_params

from tests.fakes import openai_replies as replies
from tests.fakes.openai_edits import edit_answer
from tests.fakes.openai_replies import Upload
from tests.fakes.spec_check import spec_problem

if TYPE_CHECKING:  # the server imports this module
    from tests.fakes.openai_server import FakeOpenAI

ENDPOINTS = (
    "responses", "chat/completions", "images/generations", "images/edits", "audio/speech",
    "audio/transcriptions",
)
# JSON bodies checked against the API spec's request types, as the installed SDK carries them.
JSON_SPECS: dict[str, type] = {
    "images/generations": image_generate_params.ImageGenerateParamsNonStreaming,
    "audio/speech": speech_create_params.SpeechCreateParams,
}
_JSON = replies.JSON


@dataclass
class Recorded:
    method: str
    path: str
    endpoint: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)
    # Every file part in order, repeated names kept (images/edits sends `image[]` per image).
    uploads: list[tuple[str, Upload]] = field(default_factory=list)
    fault: str | None = None  # e.g. "status 500", "delay", "drop", "refusal", "text"
    status: int | None = None  # what the fake answered; None when it dropped the connection
    reply: dict[str, Any] | None = None  # the JSON it answered (not audio)

    @property
    def schema(self) -> dict[str, Any] | None:
        """The structured-output format asked for: {name, schema, strict}, or None."""
        return replies.requested_schema(self.json or {})


@dataclass(frozen=True)
class QueuedFault:
    """What one request to an endpoint gets instead of, or on top of, the usual answer."""

    kind: str  # status, delay, drop, refusal, text, wrap, filter, media
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    code: str | None = None
    message: str | None = None
    seconds: float = 0.0
    text: str = ""

    @property
    def label(self) -> str:
        return f"status {self.status}" if self.kind == "status" else self.kind


def endpoint_name(name: str) -> str:
    """The endpoint as ENDPOINTS names it: "responses" for "/v1/responses"."""
    name = name.strip().strip("/")
    return name.removeprefix("v1/")


def answer_request(fake: FakeOpenAI, record: Recorded, size: int,
                   fault: QueuedFault | None) -> tuple[int, bytes, str]:
    """Status, body and content type of a successful (or content-faulted) answer."""
    body = record.json or {}
    if record.endpoint in ("responses", "chat/completions"):
        kind, text = (fault.kind, fault.text) if fault else ("", "")
        return replies.structured(record.endpoint, body, size, kind, text, fake.replies)
    if fault and fault.kind == "media" and record.endpoint == "audio/speech":
        return 200, fault.text.encode("latin-1"), "audio/mpeg"
    if fault and fault.kind == "media" and record.endpoint == "images/generations":
        encoded = base64.b64encode(fault.text.encode("latin-1")).decode()
        return 200, replies.dumps({"created": 0, "data": [{"b64_json": encoded}]}), _JSON
    if record.endpoint == "images/edits":
        status, answer = edit_answer(record.form, record.uploads)
        return status, replies.dumps(answer), _JSON
    if record.endpoint in JSON_SPECS and (problem := spec_problem(body, JSON_SPECS[
            record.endpoint])):
        return 400, replies.dumps(replies.error_body(400, problem, "invalid_request_error")), _JSON
    if record.endpoint == "images/generations":
        images = replies.images_body(
            str(body.get("prompt", "")), str(body.get("size") or "1024x1024"), body.get("quality")
        )
        return 200, replies.dumps(images), _JSON
    if record.endpoint == "audio/speech":
        if body.get("response_format") != "wav":
            error = replies.error_body(400, "This fake only speaks response_format=wav.", None)
            return 400, replies.dumps(error), _JSON
        seconds = replies.speech_seconds(str(body.get("input", "")))
        return 200, replies.wav_bytes(seconds), "audio/wav"
    text = fault.text if fault and fault.kind == "text" else fake.transcript
    return 200, replies.dumps(replies.transcription_body(text, fake.transcript_language)), _JSON
