"""The bot, assembled in one place: handlers in explicit groups, services opened in post_init
and closed in post_shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date

from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.decision_watch import watch_decisions
from bot.handlers import buttons, commands, photos, preferences, prompts
from bot.queue_watch import QueueWatch, watch_queue
from bot.services import Services, blocking
from videobot.model_currency import check_model_currency
from videobot.settings import ConfigurationError, Settings
from videobot.telegram import TelegramError

log = logging.getLogger(__name__)

# Group 0 turns away what the bot never serves (edits, group chats); group 1 serves the rest.
REFUSALS, SERVICE = 0, 1
# Images sent as files (uncompressed), of the types the image providers take.
PHOTO_FILES = (
    filters.Document.MimeType("image/jpeg")
    | filters.Document.MimeType("image/png")
    | filters.Document.MimeType("image/webp")
)
UNSUPPORTED = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.Document.ALL
    | filters.VIDEO
    | filters.AUDIO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.LOCATION
    | filters.CONTACT
    | filters.POLL
    | filters.VENUE
    | filters.Dice.ALL
)


def tell_admins(services: Services, warnings: list[str]) -> None:
    """Each admin hears of the configured models that shut down soon (operators' words)."""
    text = "videobot: " + "\n".join(warnings)
    for admin in services.settings.admin_user_ids:
        try:
            services.board.api.call("sendMessage", chat_id=admin, text=text[:4096])
        except TelegramError as exc:
            log.warning("Could not tell admin %s of model shutdowns: %s", admin, exc)


def build_application(settings: Settings) -> Application:
    token = settings.telegram_bot_token
    if token is None or not token.get_secret_value().strip():
        raise ConfigurationError("the bot needs TELEGRAM_BOT_TOKEN in the environment")
    base = settings.telegram_api_base_url.rstrip("/")
    # A model past its shutdown stops start-up here; one close to it is told to the admins.
    model_warnings = check_model_currency(settings, date.today())
    for warning in model_warnings:
        log.warning("Model shutting down soon: %s", warning)

    async def open_services(app: Application) -> None:
        services = Services.open(settings)
        app.bot_data["services"] = services
        if model_warnings:
            await blocking(tell_admins, services, model_warnings)
        watch = QueueWatch(services.board, services.store)
        loop = asyncio.get_running_loop()
        app.bot_data["watches"] = [
            loop.create_task(watch_queue(watch)),
            loop.create_task(watch_decisions(services.store, services.records)),
        ]

    async def close_services(app: Application) -> None:
        for watching in app.bot_data.pop("watches", []):
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        services = app.bot_data.pop("services", None)
        if services is not None:
            services.close()

    app = (
        ApplicationBuilder()
        .token(token.get_secret_value())
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(64)  # many people at once; a person's limits live in the database
        .post_init(open_services)
        .post_shutdown(close_services)
        .build()
    )
    private = filters.ChatType.PRIVATE
    app.add_handlers(
        [
            MessageHandler(filters.UpdateType.EDITED, prompts.edited),
            MessageHandler(~private & (filters.COMMAND | filters.TEXT), prompts.group_chat),
        ],
        group=REFUSALS,
    )
    app.add_handlers(
        [
            CommandHandler("start", commands.start, filters=private),
            CommandHandler("help", commands.help_command, filters=private),
            CommandHandler("new", commands.new, filters=private),
            CommandHandler("status", commands.status, filters=private),
            CommandHandler("cancel", commands.cancel, filters=private),
            CommandHandler("history", commands.history, filters=private),
            CommandHandler("stats", commands.stats, filters=private),
            CommandHandler("settings", preferences.show_settings, filters=private),
            CallbackQueryHandler(preferences.change_setting, pattern=r"^set:"),
            CallbackQueryHandler(buttons.gate_button),
            MessageHandler(private & filters.COMMAND, commands.unknown),
            MessageHandler(private & filters.VOICE, prompts.voice),
            MessageHandler(private & (filters.PHOTO | PHOTO_FILES), photos.photo),
            MessageHandler(private & filters.TEXT, prompts.text),
            MessageHandler(private & UNSUPPORTED, prompts.unsupported),
        ],
        group=SERVICE,
    )
    app.add_error_handler(_log_error)
    return app


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a handler's failure; the person's next message is served as usual."""
    log.error("Handling an update failed", exc_info=context.error)
