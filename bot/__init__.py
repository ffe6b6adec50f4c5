"""The Telegram front door: the bot process (`python -m bot`) and the flow's Telegram channel."""
