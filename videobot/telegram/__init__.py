"""The flow's Telegram output: a Bot API client over HTTP, the per-job status message and the
channel that sends gates, albums and the finished video (no Telegram library needed)."""

from videobot.telegram.bot_api import BotApi, TelegramError
from videobot.telegram.channel import ChannelSources, TelegramChannel, telegram_channel
from videobot.telegram.status_board import WATCHED_STAGES, StatusBoard

__all__ = [
    "WATCHED_STAGES",
    "BotApi",
    "ChannelSources",
    "StatusBoard",
    "TelegramChannel",
    "TelegramError",
    "telegram_channel",
]
