"""The bot's Application fed real updates in process: on the fake Bot API, its services open,
no polling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from tests.fakes.telegram_server import FakeTelegram
from videobot.settings import Settings


@asynccontextmanager
async def running_bot(tg: FakeTelegram, tmp_path: Path, **values: Any) -> AsyncIterator[
    Application
]:
    """The bot's Application on the fake Bot API with its services open, without polling."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=tg.token,
        telegram_api_base_url=tg.url,
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        **values,
    )
    app = build_application(settings)
    async with app:
        assert app.post_init is not None and app.post_shutdown is not None
        await app.post_init(app)
        try:
            yield app
        finally:
            await app.post_shutdown(app)


async def deliver(app: Application, tg: FakeTelegram) -> None:
    """Hand the application every update the fake holds, as getUpdates would."""
    for data in tg.handle("getUpdates", {"offset": 0, "timeout": 0}, {}):
        await app.process_update(Update.de_json(data, app.bot))
        tg.handle("getUpdates", {"offset": data["update_id"] + 1, "timeout": 0}, {})
