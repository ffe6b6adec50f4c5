"""The JSON shapes of the Bot API that the fake Telegram server hands out and takes in."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.openai_replies import Upload, parse_multipart

BOT_ID = 7000001
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Videobot", "username": "videobot_test_bot"}
# Form fields (urlencoded or multipart) that hold JSON rather than plain text.
JSON_FIELDS = {
    "reply_markup",
    "media",
    "allowed_updates",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "show_alert",
    "supports_streaming",
    "drop_pending_updates",
    "disable_notification",
}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "duration",
    "width",
    "height",
    "cache_time",
}


@dataclass
class Call:
    """One Bot API request as the fake received it."""

    method: str
    params: dict[str, Any]
    files: dict[str, Upload] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Sent:
    """A message the bot sent (or edited), as the chat would show it."""

    message_id: int
    chat_id: int
    kind: str  # text, photo, video, document
    text: str = ""
    reply_markup: dict[str, Any] | None = None
    file: Upload | None = None
    edits: int = 0

    @property
    def buttons(self) -> dict[str, str]:
        """Button label -> callback data, for every button of the keyboard."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return {b["text"]: b["callback_data"] for row in rows for b in row if "callback_data" in b}

    def button(self, label_part: str) -> str:
        """The callback data of the one button whose label contains `label_part`."""
        found = [data for label, data in self.buttons.items() if label_part in label]
        if len(found) != 1:
            raise AssertionError(f"no single button {label_part!r} in {list(self.buttons)}")
        return found[0]


def decode_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters and uploads of a JSON, urlencoded or multipart request, typed."""
    if content_type.startswith("application/json"):
        return (json.loads(body) if body else {}), {}
    if content_type.startswith("multipart/form-data"):
        form, files = parse_multipart(content_type, body)
    else:
        form, files = dict(parse_qsl(body.decode())), {}
    params: dict[str, Any] = {}
    for name, value in form.items():
        if name in JSON_FIELDS:
            params[name] = json.loads(value)
        elif name in INT_FIELDS and value.lstrip("-").isdigit():
            params[name] = int(value)
        else:
            params[name] = value
    return params, files


def person(user: int, language: str = "en") -> dict[str, Any]:
    return {"id": user, "is_bot": False, "first_name": f"Person{user}", "language_code": language}


def chat(chat_id: int, kind: str = "private") -> dict[str, Any]:
    body: dict[str, Any] = {"id": chat_id, "type": kind}
    if kind == "private":
        body["first_name"] = f"Person{chat_id}"
    else:
        body["title"] = "A group"
    return body


def command_entities(text: str) -> list[dict[str, Any]]:
    if not text.startswith("/"):
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]


def bot_message(sent: Sent) -> dict[str, Any]:
    """The Message object the Bot API answers for a message the bot sent."""
    body: dict[str, Any] = {
        "message_id": sent.message_id,
        "date": int(time.time()),
        "chat": chat(sent.chat_id),
        "from": BOT_USER,
    }
    if sent.kind == "text":
        body["text"] = sent.text
    elif sent.kind == "photo":
        body["photo"] = [
            {
                "file_id": f"photo{sent.message_id}",
                "file_unique_id": f"p{sent.message_id}",
                "width": 320,
                "height": 180,
            }
        ]
    elif sent.kind == "video":
        body["video"] = {
            "file_id": f"video{sent.message_id}",
            "file_unique_id": f"v{sent.message_id}",
            "width": 1280,
            "height": 720,
            "duration": 5,
        }
    else:
        body["document"] = {
            "file_id": f"doc{sent.message_id}",
            "file_unique_id": f"d{sent.message_id}",
        }
    if sent.kind != "text" and sent.text:
        body["caption"] = sent.text
    if sent.reply_markup:
        body["reply_markup"] = sent.reply_markup
    return body


def upload_name(path: Path | str) -> str:
    return Path(path).name
