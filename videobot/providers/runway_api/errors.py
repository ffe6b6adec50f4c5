"""What a Runway failure means for the retry layer, with a reason a person can read.

Runway fails in two places: an HTTP request (the SDK raises) and a task that ends FAILED (the
task carries a failure code). Output downloads fail as httpx errors. All three land here.
"""

from __future__ import annotations

import email.utils
import re
import time

import httpx
import runwayml

from videobot.providers.faults import Classified, Fault, quote_provider_text

# Runway answers 429 both when its daily generation cap is reached and when it sheds load; only
# the body tells them apart ("Your daily task limit has been reached.").
_DAILY_CAP = re.compile(r"\bdaily\b|\bquota\b", re.IGNORECASE)
# A server that took the request and stayed silent for the whole read limit is seldom mended
# by waiting as long again: one more try covers a connection lost on the way.
SILENT_ATTEMPTS = 2


class TaskFailed(Exception):
    """A Runway task ended with status FAILED."""

    def __init__(self, task_id: str, code: str | None, message: str) -> None:
        super().__init__(f"task {task_id} failed: {code or 'no code'}: {message}")
        self.task_id = task_id
        self.code = code
        self.message = message


class OutputIncomplete(Exception):
    """A download ended before the whole output arrived."""


def classify_task_failure(code: str | None, message: str = "") -> Classified:
    """SAFETY.* (also INPUT_PREPROCESSING.SAFETY.*) is a refusal, INTERNAL.* is worth a new task.

    Runway asks not to show its failure text to users as is, so the reason is ours.
    """
    parts = (code or "").upper().split(".")
    if "SAFETY" in parts:
        where = "the result" if "OUTPUT" in parts else "the prompt or picture"
        return Classified(
            Fault.SAFETY, f"Runway's content filter refused {where} ({code}); rephrase it"
        )
    if "INTERNAL" in parts:
        return Classified(Fault.TRANSIENT, f"Runway failed to generate this one ({code})")
    detail = quote_provider_text(message)
    return Classified(
        Fault.PERMANENT,
        f"Runway could not generate this ({code or 'no failure code'}"
        + (f": {detail})" if detail else ")"),
    )


def classify_runway_error(exc: Exception) -> Classified:
    """Classify an SDK error, a download error or a failed task."""
    if isinstance(exc, TaskFailed):
        return classify_task_failure(exc.code, exc.message)
    if isinstance(exc, runwayml.APITimeoutError):
        if isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
            return Classified(Fault.TRANSIENT, "could not reach Runway (no connection in time)")
        return Classified(
            Fault.TRANSIENT, "Runway did not answer in time", attempts=SILENT_ATTEMPTS
        )
    if isinstance(exc, runwayml.APIConnectionError):
        return Classified(Fault.TRANSIENT, "could not connect to Runway")
    if isinstance(exc, runwayml.APIStatusError):
        return _classify_status(exc.status_code, _detail(exc.body), exc.response.headers)
    if isinstance(exc, httpx.HTTPStatusError):
        return _classify_download_status(exc.response.status_code)
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return Classified(Fault.TRANSIENT, "could not reach Runway's storage to download")
    if isinstance(exc, httpx.TimeoutException):
        return Classified(
            Fault.TRANSIENT, "downloading Runway's output timed out", attempts=SILENT_ATTEMPTS
        )
    if isinstance(exc, OutputIncomplete):
        return Classified(Fault.TRANSIENT, f"downloading Runway's output stopped early ({exc})")
    if isinstance(exc, httpx.TransportError):
        return Classified(Fault.TRANSIENT, "downloading Runway's output failed (connection lost)")
    if isinstance(exc, OSError):
        why = exc.strerror or "the disk refused it"
        return Classified(Fault.PERMANENT, f"could not save Runway's output ({why.lower()})")
    detail = quote_provider_text(str(exc))
    return Classified(
        Fault.PERMANENT,
        "something went wrong while calling Runway" + (f" ({detail})" if detail else ""),
    )


def _classify_status(status: int, detail: str, headers: httpx.Headers) -> Classified:
    said = f": {detail}" if detail else ""
    if status == 429:
        if _DAILY_CAP.search(detail):
            return Classified(
                Fault.DAILY_CAP,
                "Runway's daily generation limit for this account is reached; it frees up "
                "within 24 hours",
            )
        return Classified(
            Fault.TRANSIENT, f"Runway is busy (HTTP 429){said}", retry_after=retry_after(headers)
        )
    if status in (408, 409) or status >= 500:
        return Classified(
            Fault.TRANSIENT,
            f"Runway had a temporary problem (HTTP {status}){said}",
            retry_after=retry_after(headers),
        )
    if status == 401:
        return Classified(
            Fault.PERMANENT, "Runway did not accept the API key; check RUNWAYML_API_SECRET"
        )
    if status == 403:
        return Classified(Fault.PERMANENT, f"Runway refused access (HTTP 403){said}")
    if status == 404:
        return Classified(Fault.PERMANENT, f"Runway does not know this (HTTP 404){said}")
    return Classified(Fault.PERMANENT, f"Runway rejected the request (HTTP {status}){said}")


def _classify_download_status(status: int) -> Classified:
    if status in (408, 429) or status >= 500:
        return Classified(
            Fault.TRANSIENT, f"downloading Runway's output failed (HTTP {status})"
        )
    # Output links are signed and expire; we fetch at once, so a 4xx will not mend by itself.
    return Classified(
        Fault.PERMANENT, f"Runway's output link did not work (HTTP {status})"
    )


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from retry-after-ms or Retry-After (seconds or an HTTP date)."""
    if value := headers.get("retry-after-ms"):
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(body: object) -> str:
    """The human part of an error body. Runway sends {"error": "..."}, and for a request that
    fails validation also "issues": [{"path": [...], "message": "..."}], which name the field."""
    if isinstance(body, dict):
        said = ""
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str):
                said = value
                break
        issues = body.get("issues")
        if isinstance(issues, list) and issues and isinstance(issues[0], dict):
            first = issues[0]
            path = ".".join(str(part) for part in first.get("path") or [])
            message = first.get("message")
            if isinstance(message, str):
                said += f" ({path + ': ' if path else ''}{message})"
        return quote_provider_text(said)
    if isinstance(body, str):
        return quote_provider_text(body)
    return ""
