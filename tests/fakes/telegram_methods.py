"""The Bot API methods of the fake Telegram server: what each answers, and how it fails."""

from __future__ import annotations

import itertools
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.telegram_updates import BOT_USER, Sent, bot_message

MEDIA_METHODS = {"sendPhoto": "photo", "sendVideo": "video", "sendDocument": "document"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


class BotApiMethods:
    """`_api_<method>(params, files)` for each method; called with the server's lock held."""

    messages: dict[int, Sent]
    answers: dict[str, dict[str, Any]]
    webhook: dict[str, Any] | None
    # Whether the webhook URL accepted a connection when it was set: Telegram starts
    # delivering (pending updates first) as soon as setWebhook succeeds.
    webhook_listening: bool | None
    files: dict[str, bytes]
    _ids: itertools.count[int]

    def _new(
        self, chat_id: Any, kind: str, text: str = "", markup: Any = None, file: Any = None
    ) -> Sent:
        sent = Sent(next(self._ids), int(chat_id), kind, text, markup or None, file)
        self.messages[sent.message_id] = sent
        return sent

    def _api_getMe(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_setWebhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self.webhook = params
        target = urlsplit(str(params.get("url", "")))
        try:
            socket.create_connection((target.hostname, target.port or 443), timeout=2).close()
            self.webhook_listening = True
        except OSError:
            self.webhook_listening = False
        return True

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    def _api_sendChatAction(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return True

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        text = str(params.get("text") or "")
        if not text or len(text) > 4096:
            raise ApiError(400, "Bad Request: message text is empty or too long")
        return bot_message(self._new(params["chat_id"], "text", text, params.get("reply_markup")))

    def _send_media(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        kind = MEDIA_METHODS[method]
        upload = files.get(kind)
        if upload is None:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption = str(params.get("caption") or "")
        if len(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        sent = self._new(params["chat_id"], kind, caption, params.get("reply_markup"), upload)
        return bot_message(sent)

    def _api_sendMediaGroup(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        media = params.get("media")
        if isinstance(media, str):
            media = json.loads(media)
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: media group must have 2-10 items")
        sent = []
        for item in media:
            name = str(item["media"]).removeprefix("attach://")
            if name not in files:
                raise ApiError(400, f"Bad Request: file {name} was not uploaded")
            sent.append(
                bot_message(self._new(params["chat_id"], item["type"], "", None, files[name]))
            )
        return sent

    def _edited(self, params: dict[str, Any]) -> Sent:
        message = self.messages.get(int(params.get("message_id") or 0))
        if message is None or message.chat_id != int(params.get("chat_id") or 0):
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _api_editMessageText(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        message = self._edited(params)
        markup = params.get("reply_markup")
        if message.text == params.get("text") and message.reply_markup == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.text, message.reply_markup = str(params.get("text")), markup
        message.edits += 1
        return bot_message(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        message = self._edited(params)
        markup = params.get("reply_markup") or None
        if message.reply_markup == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        message.edits += 1
        return bot_message(message)

    def _api_deleteMessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self.messages.pop(self._edited(params).message_id)
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self.answers[str(params["callback_query_id"])] = {**params, "at": time.monotonic()}
        return True

    def _api_getFile(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path = next(k.split("/", 1)[1] for k in self.files if k.startswith(f"path:{file_id}/"))
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"{file_id}/{path}",
        }
