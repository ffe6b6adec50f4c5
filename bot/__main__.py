"""`python -m bot`: long polling by default, a webhook when TELEGRAM_WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import logging
import sys

from telegram.error import InvalidToken, NetworkError

from bot.app import build_application
from bot.webhook import run_webhook
from videobot.settings import ConfigurationError, get_settings


def main() -> int:
    settings = get_settings()
    # Importing prefect configures the root logger (WARNING, Prefect's console handler), so
    # without `force` basicConfig changes nothing and LOG_LEVEL's INFO lines are dropped.
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # Bot API URLs carry the token: the HTTP client's request log must stay off.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # python-telegram-bot's debug output includes the API URL, and with it the token.
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.root.level))
    try:
        settings.require_keys()
        app = build_application(settings)
        if settings.telegram_webhook_url:
            asyncio.run(run_webhook(app, settings))
        else:
            print("videobot bot: long polling", flush=True)
            app.run_polling(allowed_updates=["message", "edited_message", "callback_query"])
    except ConfigurationError as exc:
        print(f"videobot bot: {exc}", file=sys.stderr)
        return 2
    except (InvalidToken, NetworkError) as exc:
        # Neither message carries the token (the URL that does is never printed).
        print(
            f"videobot bot: the Telegram Bot API at {settings.telegram_api_base_url} "
            f"could not be used: {exc}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
