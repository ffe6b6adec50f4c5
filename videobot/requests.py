"""Checks on what a person asks for, shared by the CLI and the bot."""

from __future__ import annotations

import re

from videobot.formats import VideoFormat

MAX_PROMPT_CHARS = 2000
LANGUAGES = ("en", "ru")


class InvalidRequest(ValueError):
    """A request that cannot be accepted; the message is meant for the person who made it."""


def clean_prompt(text: object) -> str:
    """The prompt with surrounding and repeated white space removed, or InvalidRequest."""
    if not isinstance(text, str):
        raise InvalidRequest("the prompt must be text")
    cleaned = re.sub(r"\s+", " ", text).strip()
    if not cleaned:
        raise InvalidRequest("the prompt is empty: say what the video should be about")
    if len(cleaned) > MAX_PROMPT_CHARS:
        raise InvalidRequest(
            f"the prompt is {len(cleaned)} characters; the limit is {MAX_PROMPT_CHARS}"
        )
    return cleaned


def parse_format(value: str) -> VideoFormat:
    try:
        return VideoFormat(value.strip())
    except ValueError:
        choices = ", ".join(f.value for f in VideoFormat)
        raise InvalidRequest(f"unknown format '{value}': choose one of {choices}") from None


def detect_language(text: str) -> str:
    """'ru' when most letters are Cyrillic, otherwise 'en'."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    return "ru" if cyrillic * 2 >= len(letters) else "en"


def voice_language(choice: str | None) -> str:
    """A voice prompt's narration language: the one asked for, or 'auto' (the transcript's,
    known once it is transcribed)."""
    if choice is None or choice.strip().lower() in ("", "auto"):
        return "auto"
    return resolve_language(choice, "")


def resolve_language(choice: str | None, prompt: str) -> str:
    """The narration language: the one asked for, or the prompt's own when 'auto' or unset."""
    if choice is None or choice.strip().lower() in ("", "auto"):
        return detect_language(prompt)
    language = choice.strip().lower()
    if language not in LANGUAGES:
        raise InvalidRequest(
            f"unknown language '{choice}': choose one of {', '.join(LANGUAGES)} or auto"
        )
    return language
