"""Message catalogues: every text a person reads in the chat, in English and Russian."""

from __future__ import annotations

import string

from videobot.i18n import en, ru

CATALOGUES: dict[str, dict[str, str]] = {"en": en.MESSAGES, "ru": ru.MESSAGES}
DEFAULT_LANGUAGE = "en"
LANGUAGES = tuple(CATALOGUES)
# Each language in its own words, as a person looks for it among the others.
NATIVE_NAMES = {"en": "English", "ru": "Русский"}


def pick_language(chosen: str | None, telegram_code: str | None) -> str:
    """The person's own choice, else their Telegram app's language, else English."""
    for code in (chosen, telegram_code):
        base = (code or "").lower().replace("_", "-").split("-")[0]
        if base in CATALOGUES:
            return base
    return DEFAULT_LANGUAGE


def tr(language: str, key: str, /, **values: object) -> str:
    """The text `key` in `language` (English when the language is unknown), filled in."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    return catalogue[key].format(**values)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


__all__ = ["CATALOGUES", "LANGUAGES", "NATIVE_NAMES", "pick_language", "placeholders", "tr"]
