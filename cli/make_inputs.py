"""What `videobot make` takes besides the prompt, checked at the door: a voice note, the
person's photo, the clip model."""

from __future__ import annotations

from pathlib import Path

from cli.errors import CommandError
from videobot.motion import Motion, choose_motion, parse_motion
from videobot.references import PhotoRefused, check_photo
from videobot.settings import Settings

MAX_VOICE_BYTES = 20 * 1024 * 1024


def reference_photo(path: str) -> Path:
    """The person's photo, checked at the door as the bot checks one sent in a chat."""
    photo = Path(path)
    if not photo.is_file():
        raise CommandError(f"no photo at {path}")
    try:
        check_photo(photo)
    except PhotoRefused as exc:
        raise CommandError(f"{path}: {exc}") from None
    return photo


def motion_choice(settings: Settings, text: str) -> Motion:
    """The clip model (and length) asked for, if the configured animator offers it."""
    model, seconds = parse_motion(text)
    try:
        return choose_motion(settings, model, seconds)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def voice_note(path: str) -> Path:
    """The voice note to transcribe as the prompt."""
    voice = Path(path)
    if not voice.is_file():
        raise CommandError(f"no voice note at {path}")
    if voice.stat().st_size > MAX_VOICE_BYTES:
        raise CommandError("the voice note is over 20 MB")
    return voice
