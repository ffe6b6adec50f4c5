"""A fake Telegram Bot API on 127.0.0.1: the real bot and the flow's channel talk HTTP to it.

    with FakeTelegram() as tg:        # TELEGRAM_API_BASE_URL=tg.url, TELEGRAM_BOT_TOKEN=tg.token
        tg.write(42, "How volcanoes work")            # person 42 sends a message (an update)
        script = tg.wait_for_message(42, lambda m: "Script" in m.text)
        tg.press(42, script, script.button("Approve"))  # a callback query on that message
        tg.answers[callback_id]                       # what answerCallbackQuery said

Serves `/bot<token>/<method>` (getMe, getUpdates with long polling, setWebhook, deleteWebhook,
sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery,
sendPhoto, sendMediaGroup, sendVideo, sendDocument, sendChatAction, getFile) with JSON,
urlencoded or multipart bodies, and `/file/bot<token>/<path>` downloads. A wrong token gets 401.
`tg.flood("editMessageText", 1)` answers the next such call with 429 and retry_after=1.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from tests.fakes.telegram_methods import MEDIA_METHODS, ApiError, BotApiMethods
from tests.fakes.telegram_updates import (
    Call,
    Sent,
    bot_message,
    chat,
    command_entities,
    decode_body,
    person,
)


class FakeTelegram(BotApiMethods):
    def __init__(self, token: str = "7000001:AAfake-token-for-tests-0123456789") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[int, Sent] = {}
        self.answers: dict[str, dict[str, Any]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_listening: bool | None = None
        self.files: dict[str, bytes] = {}
        self._updates: list[dict[str, Any]] = []
        # For timing: when each update was first handed to the bot, which update a press was.
        self.delivered: dict[int, float] = {}
        self.pressed: dict[str, int] = {}
        self._floods: dict[str, list[int]] = {}
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self._lock.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # A person's side ----------------------------------------------------------------------

    def write(
        self,
        user: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        language: str = "en",
    ) -> int:
        """Person `user` sends `text` (a command when it starts with "/"); the update's id."""
        return self._message(
            user, {"text": text, "entities": command_entities(text)}, chat_id, chat_type, language
        )

    def send_voice(self, user: int, data: bytes, duration: int, language: str = "en") -> int:
        file_id = self.add_file(data, "voice/note.oga")
        voice = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._message(user, {"voice": voice}, None, "private", language)

    def send_photo(
        self, user: int, data: bytes, *, caption: str | None = None, language: str = "en",
        file_size: int | None = None,
    ) -> int:
        """Person `user` sends a photo (Telegram keeps photos as JPEG), with a caption."""
        file_id = self.add_file(data, "photos/file_1.jpg")
        size = {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 800,
                "height": 600, "file_size": file_size or len(data)}
        thumb = {**size, "file_id": f"{file_id}thumb", "width": 90, "height": 68}
        return self._message(user, {"photo": [thumb, size], "caption": caption}, None,
                             "private", language)

    def send_document(
        self, user: int, data: bytes, mime_type: str, *, caption: str | None = None,
        file_size: int | None = None,
    ) -> int:
        """Person `user` sends a file (an image sent uncompressed arrives this way)."""
        file_id = self.add_file(data, "documents/file_1")
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": "file",
                    "mime_type": mime_type, "file_size": file_size or len(data)}
        return self._message(user, {"document": document, "caption": caption}, None,
                             "private", "en")

    def send_sticker(self, user: int, language: str = "en") -> int:
        sticker = {
            "file_id": "sticker1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._message(user, {"sticker": sticker}, None, "private", language)

    def edit(self, user: int, message_id: int, text: str) -> int:
        body = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": chat(user),
            "from": person(user),
            "text": text,
        }
        return self._push({"edited_message": body})

    def press(self, user: int, message: Sent, data: str, language: str = "en") -> str:
        """Person `user` taps a button carrying `data` under `message`; the callback's id."""
        callback_id = f"cb{next(self._ids)}"
        self.pressed[callback_id] = self._push(
            {
                "callback_query": {
                    "id": callback_id,
                    "from": person(user, language),
                    "chat_instance": str(user),
                    "data": data,
                    "message": bot_message(message),
                }
            }
        )
        return callback_id

    def add_file(self, data: bytes, path: str) -> str:
        file_id = f"file{next(self._ids)}"
        self.files[file_id] = data
        self.files[f"path:{file_id}/{path}"] = data
        return file_id

    def _message(
        self, user: int, content: dict[str, Any], chat_id: int | None, chat_type: str, language: str
    ) -> int:
        body = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat(chat_id or user, chat_type),
            "from": person(user, language),
            **{k: v for k, v in content.items() if v},
        }
        return self._push({"message": body})

    def _push(self, update: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **update})
            self._lock.notify_all()
            return update_id

    # What the bot did -------------------------------------------------------------------------

    def flood(self, method: str, retry_after: int, times: int = 1) -> None:
        with self._lock:
            self._floods.setdefault(method, []).extend([retry_after] * times)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def chat_messages(self, chat_id: int) -> list[Sent]:
        with self._lock:
            return [m for m in self.messages.values() if m.chat_id == chat_id]

    def wait_for_message(
        self, chat_id: int, check: Callable[[Sent], bool], timeout: float = 120, after: int = 0
    ) -> Sent:
        """The first message to `chat_id` (with id > `after`) for which `check` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.chat_messages(chat_id):
                if message.message_id > after and check(message):
                    return message
            time.sleep(0.1)
        texts = [m.text[:80] for m in self.chat_messages(chat_id)]
        raise AssertionError(f"no matching message to {chat_id} in {timeout} s; got {texts}")

    def wait_for_answer(self, callback_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if callback_id in self.answers:
                    return self.answers[callback_id]
            time.sleep(0.05)
        raise AssertionError(f"callback {callback_id} was not answered in {timeout} s")

    # The Bot API --------------------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        with self._lock:
            self.calls.append(Call(method, params, files))
            flood = self._floods.get(method)
            if flood:
                raise ApiError(429, "Too Many Requests: retry later", flood.pop(0))
        if method == "getUpdates":
            return self._get_updates(params)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None and method in MEDIA_METHODS:
            return self._send_media(method, params, files)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        with self._lock:
            return handler(params, files)

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset, timeout = int(params.get("offset") or 0), float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 5)  # short holds keep shutdown quick
        with self._lock:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._lock.wait(0.1)
            handed = self._updates[: int(params.get("limit") or 100)]
            now = time.monotonic()
            for update in handed:
                self.delivered.setdefault(update["update_id"], now)
            return list(handed)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeTelegram:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        prefix, path = f"/file/bot{self.fake.token}/", unquote(self.path)
        if path.startswith(prefix):
            data = self.fake.files.get(f"path:{path.removeprefix(prefix)}")
            if data is not None:
                self._send(200, data, "application/octet-stream")
                return
        self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        path = unquote(self.path.split("?", 1)[0])
        token, _, method = path.removeprefix("/bot").partition("/")
        if not path.startswith("/bot") or token != self.fake.token:
            self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        try:
            params, files = decode_body(self.headers.get("content-type", ""), body)
            result = self.fake.handle(method, params, files)
        except ApiError as exc:
            reply: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.retry_after is not None:
                reply["parameters"] = {"retry_after": exc.retry_after}
            self._json(exc.code, reply)
            return
        self._json(200, {"ok": True, "result": result})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True
