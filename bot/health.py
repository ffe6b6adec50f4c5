"""What `GET /health` reports: the app database and the Prefect API, each reachable or not."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from sqlalchemy import text

from bot.services import Services, blocking
from videobot.model_currency import model_notices


def _database_ok(sv: Services) -> bool:
    try:
        with sv.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def _prefect_ok() -> bool:
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        return False
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            reply = await client.get(f"{url.rstrip('/')}/health")
        return reply.status_code == 200
    except httpx.HTTPError:
        return False


async def health(
    sv: Services, mode: str, today: date | None = None
) -> tuple[int, dict[str, Any]]:
    database, prefect = await blocking(_database_ok, sv), await _prefect_ok()
    healthy = database and prefect
    return (200 if healthy else 503), {
        "status": "healthy" if healthy else "unhealthy",
        "service": "videobot",
        "mode": mode,
        "database": "reachable" if database else "unreachable",
        "prefect_api": "reachable" if prefect else "unreachable",
        # Models close to their shutdown: worth an operator's look, not a reason to be unhealthy.
        "warnings": [n.text() for n in model_notices(sv.settings, today or date.today())],
    }
