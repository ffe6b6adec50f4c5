"""Sort OpenAI SDK errors into transient, permanent and safety faults, with reasons for people.

The server's own message is quoted for every refusal (it says what to do, e.g. "Your
organization must be verified to use the model"), after keys and file paths are removed; a 401
message echoes part of the key, so it is never quoted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Protocol

import openai

from videobot.providers.faults import Classified, Fault, quote_provider_text

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
# Each attempt at a generation is paid: a reply we could not read is asked for once more (a
# transfer can break), not as often as a network fault, since the model may send the same again.
UNREADABLE_ATTEMPTS = 2
# A server that took the request and stayed silent for the whole read limit is seldom mended by
# waiting as long again, and it may be working (and charging) still: one more try, for a
# connection that was lost on the way.
SILENT_ATTEMPTS = 2


class UnexpectedReply(Exception):
    """OpenAI answered 200 with something we cannot use (no image, unreadable audio)."""


def classify_openai_error(exc: Exception, server: str = "OpenAI") -> Classified:
    """What kind of fault `exc` is and how to say it; `retry_after` from the server's headers.

    `server` names who answered: "OpenAI", or an OpenAI-compatible server such as
    "the text model at 127.0.0.1:11434", so a reason points where to look."""
    if isinstance(exc, openai.APITimeoutError):
        if _timed_out_connecting(exc):
            return Classified(Fault.TRANSIENT, f"could not reach {server} (no connection in time)")
        return Classified(
            Fault.TRANSIENT, f"{server} did not answer in time", attempts=SILENT_ATTEMPTS
        )
    if isinstance(exc, openai.APIConnectionError):
        return Classified(Fault.TRANSIENT, f"could not reach {server} (the connection failed)")
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return Classified(
            Fault.SAFETY, f"{_of(server)} content filter stopped the answer: rephrase the request"
        )
    if isinstance(exc, openai.LengthFinishReasonError):
        return Classified(Fault.PERMANENT, f"{_of(server)} answer was cut off at its length limit")
    if isinstance(exc, openai.APIResponseValidationError):
        return Classified(
            Fault.TRANSIENT, f"{server} sent a reply that could not be read",
            attempts=UNREADABLE_ATTEMPTS,
        )
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc, server)
    if isinstance(exc, UnexpectedReply):
        return Classified(Fault.TRANSIENT, str(exc), attempts=UNREADABLE_ATTEMPTS)
    detail = quote_provider_text(str(exc))
    return Classified(
        Fault.PERMANENT,
        "something went wrong while calling " + server + (f" ({detail})" if detail else ""),
    )


def _timed_out_connecting(exc: openai.APITimeoutError) -> bool:
    """Whether the time ran out before a connection was made (the SDK's httpx2 ConnectTimeout
    or PoolTimeout, told apart by name: httpx2 is the SDK's dependency, not ours)."""
    names = {kind.__name__ for kind in type(exc.__cause__).__mro__}
    return bool(names & {"ConnectTimeout", "PoolTimeout"})


def _classify_status(exc: openai.APIStatusError, server: str) -> Classified:
    status = exc.status_code
    code = (exc.code or "").lower()
    message = _server_message(exc)
    flagged = code in _SAFETY_CODES or any(word in message.lower() for word in _SAFETY_WORDS)
    if flagged and 400 <= status < 500 and status != 429:
        return Classified(
            Fault.SAFETY,
            f"{_of(server)} safety system refused the request ({status}"
            f"{', ' + code if code else ''}): rephrase the prompt",
        )
    if status == 429 and code == "insufficient_quota":
        return Classified(
            Fault.PERMANENT,
            "the OpenAI account has no credit left (429 insufficient_quota): add credit or "
            "raise the spending limit, then try again",
        )
    said = f": {message}" if message else ""
    if status in (408, 409, 429) or status >= 500:
        what = "rate limit reached" if status == 429 else "had a temporary problem"
        return Classified(
            Fault.TRANSIENT, f"{server} {what} ({status}){said}",
            retry_after=retry_after(exc.response),
        )
    if status == 401:
        return Classified(
            Fault.PERMANENT, f"{server} rejected the API key (401): check OPENAI_API_KEY"
        )
    if status == 403:
        # OpenAI says why (an unverified organisation, a model the project may not use, an
        # unsupported region); its words tell the person what to do.
        return Classified(
            Fault.PERMANENT,
            f"{server} refused access (403){said or ': this key may not use the model'}",
        )
    if status == 404:
        return Classified(
            Fault.PERMANENT,
            f"{server} does not know this model or endpoint (404): check the model settings{said}",
        )
    return Classified(Fault.PERMANENT, f"{server} rejected the request ({status}){said}")


def _of(server: str) -> str:
    """"OpenAI's", or "the server's" phrasing for another server ("… of the text model at …")."""
    return "OpenAI's" if server == "OpenAI" else f"{server[:1].upper()}{server[1:]}:"


class _HasHeaders(Protocol):
    """An HTTP response of either httpx generation: only its headers are read."""

    @property
    def headers(self) -> Mapping[str, str]: ...


def retry_after(response: _HasHeaders) -> float | None:
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
    """The human part of the error body ({"message": ...}, or plain text), never for a 401."""
    if exc.status_code == 401:
        return ""
    body = exc.body
    if isinstance(body, Mapping):
        message = body.get("message")
        return quote_provider_text(message) if isinstance(message, str) else ""
    return quote_provider_text(body) if isinstance(body, str) else ""
