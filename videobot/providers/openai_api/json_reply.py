"""Read a model's JSON answer when the server did not enforce the schema: the first complete JSON
object that validates, wherever it stands in the text.

Local OpenAI-compatible servers (Ollama, vLLM) often wrap the object in ``` fences, put a
`<think>…</think>` block (sometimes never closed) before it, or add a sentence of prose around
it. Strict structured output never does, so the same reader serves every server.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# A reasoning block, closed or running to the end of the text (`<think>` or `<thinking>`).
_THINK = re.compile(r"<(think|thinking)>(.*?)(?:</\1>|\Z)", re.DOTALL | re.IGNORECASE)
_DECODER = json.JSONDecoder()


class UnusableJson(ValueError):
    """No JSON object in the answer fits the requested shape; the message says why."""


def parse_json_reply(text: str, model: type[M]) -> M:
    """The first complete JSON object in `text` that validates as `model`.

    The answer outside reasoning blocks is searched first and the reasoning itself last, so a
    draft the model thought about never beats the answer it gave.
    """
    answer = _THINK.sub(" ", text)
    reasoning = " ".join(match.group(2) for match in _THINK.finditer(text))
    if not text.strip():
        raise UnusableJson("the answer was empty")
    misfits: list[ValidationError] = []
    for part in (answer, reasoning):
        for candidate in json_objects(part):
            try:
                return model.model_validate(candidate)
            except ValidationError as exc:
                misfits.append(exc)
    if misfits:
        closest = min(misfits, key=lambda exc: exc.error_count())  # the first of the fewest
        raise UnusableJson(f"the JSON did not fit: {describe_error(closest)}")
    if not answer.strip():
        raise UnusableJson("the answer held only reasoning, no JSON object")
    raise UnusableJson("the answer held no complete JSON object")


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object that starts at a `{` in `text`, nested ones included, in text order.

    `raw_decode` reads each candidate as JSON, so braces inside strings never confuse it.
    """
    found: list[dict[str, Any]] = []
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            pass
        else:
            if isinstance(value, dict):
                found.append(value)
        start = text.find("{", start + 1)
    return found


def describe_error(exc: ValidationError) -> str:
    """The first validation error as "where: what", without pydantic's class or URL."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
