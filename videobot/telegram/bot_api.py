"""A small synchronous Bot API client for the flow's tasks: JSON calls, multipart uploads, and
Telegram's flood control (429 with `retry_after`) waited out rather than dropped."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)
# httpx logs every request's URL at INFO, and Bot API URLs carry the token.
logging.getLogger("httpx").setLevel(logging.WARNING)


class TelegramError(RuntimeError):
    """The Bot API refused a call. The message never contains the token."""

    def __init__(self, method: str, status: int, description: str) -> None:
        super().__init__(f"Telegram {method} failed ({status}): {description}")
        self.status, self.description = status, description


class BotApi:
    """`call("sendMessage", chat_id=..., text=...)` against `{base_url}/bot{token}/`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        max_flood_wait: float = 120.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        self._client = client or httpx.Client(timeout=timeout)
        self.max_flood_wait = max_flood_wait

    def call(self, method: str, files: Mapping[str, Path] | None = None, **params: Any) -> Any:
        """The call's `result`; waits out flood control, raises TelegramError otherwise."""
        waited = 0.0
        while True:
            reply = self._post(method, files, params)
            body = _json(reply)
            if body.get("ok"):
                return body.get("result")
            retry_after = (body.get("parameters") or {}).get("retry_after")
            if reply.status_code == 429 and retry_after is not None:
                if waited + float(retry_after) > self.max_flood_wait:
                    raise TelegramError(method, 429, "flood control lasted too long")
                log.info("Telegram asks to wait %s s before %s", retry_after, method)
                time.sleep(float(retry_after))
                waited += float(retry_after)
                continue
            raise TelegramError(
                method, reply.status_code, str(body.get("description") or "no description")
            )

    def _post(
        self, method: str, files: Mapping[str, Path] | None, params: Mapping[str, Any]
    ) -> httpx.Response:
        url = self._prefix + method
        try:
            if not files:
                clean = {k: v for k, v in params.items() if v is not None}
                return self._client.post(url, json=clean)
            form = {
                k: v if isinstance(v, str) else json.dumps(v)
                for k, v in params.items()
                if v is not None
            }
            handles = {name: path.open("rb") for name, path in files.items()}
            try:
                uploads = {name: (files[name].name, fh) for name, fh in handles.items()}
                return self._client.post(url, data=form, files=uploads)
            finally:
                for fh in handles.values():
                    fh.close()
        except httpx.HTTPError as exc:  # the URL holds the token: never let it into messages
            raise TelegramError(method, 0, type(exc).__name__) from None

    def close(self) -> None:
        self._client.close()


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        body = reply.json()
    except ValueError:
        return {"ok": False, "description": f"not JSON (HTTP {reply.status_code})"}
    return body if isinstance(body, dict) else {"ok": False, "description": "not an object"}
