"""Names and tags that make runs easy to find in the Prefect UI."""

from __future__ import annotations

from uuid import UUID

from videobot.settings import Settings


def short_id(job_id: UUID | str) -> str:
    return str(job_id)[:8]


def job_tags(user_id: str, fmt: str, settings: Settings) -> list[str]:
    """user, format and the providers in use, as Prefect run tags."""
    providers = sorted(
        {settings.script_provider, settings.image_provider, settings.video_provider,
         settings.tts_provider}
    )
    return [
        "videobot",
        f"user:{user_id}"[:60],
        f"format:{fmt}",
        *(f"provider:{name}" for name in providers),
    ]
