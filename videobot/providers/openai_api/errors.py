"""Sort OpenAI SDK errors into transient, permanent and safety faults, with reasons for people.

Server messages are quoted only where they help (bad request, unknown model) and only after
anything that looks like a key is removed: a 401 message echoes part of the key, so it is never
quoted.
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime

import httpx2
import openai

from videobot.providers.faults import Classified, Fault

_SAFETY_CODES = frozenset({
    "content_policy_violation",
    "image_content_policy_violation",
    "moderation_blocked",
    "content_filter",
    "invalid_prompt",  # "flagged as potentially violating our usage policy"
    "bio_policy",
    "misalignment_policy_violation",
})
_SAFETY_WORDS = ("safety system", "content policy", "usage policy", "content filter")
_SECRET = re.compile(r"(sk-[\w*.-]+|Bearer\s+\S+)", re.IGNORECASE)
_QUOTE_LIMIT = 200


class UnexpectedReply(Exception):
    """OpenAI answered 200 with something we cannot use (no image, no audio); worth a retry."""


def classify_openai_error(exc: Exception) -> Classified:
    """What kind of fault `exc` is and how to say it; `retry_after` from the server's headers."""
    if isinstance(exc, openai.APITimeoutError):
        return Classified(Fault.TRANSIENT, "OpenAI did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return Classified(Fault.TRANSIENT, "could not reach OpenAI (the connection failed)")
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return Classified(
            Fault.SAFETY, "OpenAI's content filter stopped the answer: rephrase the request"
        )
    if isinstance(exc, openai.LengthFinishReasonError):
        return Classified(Fault.PERMANENT, "OpenAI's answer was cut off at its length limit")
    if isinstance(exc, openai.APIResponseValidationError):
        return Classified(Fault.TRANSIENT, "OpenAI sent a reply that could not be read")
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc)
    if isinstance(exc, UnexpectedReply):
        return Classified(Fault.TRANSIENT, str(exc))
    detail = _quote(str(exc))
    reason = f"unexpected error while calling OpenAI ({type(exc).__name__}"
    return Classified(Fault.PERMANENT, reason + (f": {detail})" if detail else ")"))


def _classify_status(exc: openai.APIStatusError) -> Classified:
    status = exc.status_code
    code = (exc.code or "").lower()
    message = _server_message(exc)
    flagged = code in _SAFETY_CODES or any(word in message.lower() for word in _SAFETY_WORDS)
    if flagged and 400 <= status < 500 and status != 429:
        return Classified(
            Fault.SAFETY,
            f"OpenAI's safety system refused the request ({status}"
            f"{', ' + code if code else ''}): rephrase the prompt",
        )
    if status == 429 and code == "insufficient_quota":
        return Classified(
            Fault.PERMANENT,
            "the OpenAI account has no credit left (429 insufficient_quota): add credit or "
            "raise the spending limit, then try again",
        )
    if status in (408, 409, 429) or status >= 500:
        what = "rate limit reached" if status == 429 else "had a temporary problem"
        return Classified(
            Fault.TRANSIENT, f"OpenAI {what} ({status})", retry_after=retry_after(exc.response)
        )
    if status == 401:
        return Classified(
            Fault.PERMANENT, "OpenAI rejected the API key (401): check OPENAI_API_KEY"
        )
    if status == 403:
        return Classified(
            Fault.PERMANENT,
            "OpenAI refused access (403): this key's project may not use the model, "
            "or the region is not supported",
        )
    if status == 404:
        return Classified(
            Fault.PERMANENT,
            f"OpenAI does not know this model or endpoint (404): check the model settings"
            f"{': ' + message if message else ''}",
        )
    return Classified(
        Fault.PERMANENT,
        f"OpenAI rejected the request ({status}){': ' + message if message else ''}",
    )


def retry_after(response: httpx2.Response) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, or retry-after (seconds or date)."""
    headers = response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    return None


def _server_message(exc: openai.APIStatusError) -> str:
    if exc.status_code == 401:
        return ""
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    return _quote(message if isinstance(message, str) else "")


def _quote(text: str) -> str:
    """One line of server text, keys and tokens removed, short enough for a chat message."""
    text = " ".join(_SECRET.sub("[redacted]", text).split())
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 1] + "…"
