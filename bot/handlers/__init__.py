"""The bot's handlers: thin, one docstring each; their texts come from videobot.i18n."""
