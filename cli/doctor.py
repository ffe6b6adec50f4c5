"""`videobot doctor`: for each capability, who does it, with which model, whether its key is
set and its server answers, and when the model shuts down; then the app database, the media
store and Prefect."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import httpx
import openai
import runwayml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from videobot.db.engine import make_engine
from videobot.model_currency import WARN_DAYS, models_in_use, shutdown_of
from videobot.settings import Settings

PROBE_SECONDS = 5.0


@dataclass(frozen=True)
class Row:
    what: str
    provider: str
    model: str
    key: str
    server: str
    shutdown: str
    ok: bool


def _openai_answers(settings: Settings) -> str:
    assert settings.openai_api_key is not None
    client = openai.OpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url or None,
        timeout=PROBE_SECONDS, max_retries=0,
    )
    try:
        client.models.list()
    except openai.AuthenticationError:
        return "answers, but refuses the key"
    except openai.APIStatusError as exc:
        return f"answers ({exc.status_code})"
    except openai.APIConnectionError:
        return f"no answer from {client.base_url.host}"
    return "answers"


def _runway_answers(settings: Settings) -> str:
    assert settings.runwayml_api_secret is not None
    client = runwayml.RunwayML(
        api_key=settings.runwayml_api_secret.get_secret_value(),
        base_url=settings.runwayml_base_url, timeout=PROBE_SECONDS, max_retries=0,
    )
    try:
        org = client.organization.retrieve()
    except runwayml.AuthenticationError:
        return "answers, but refuses the key"
    except runwayml.APIStatusError as exc:
        return f"answers ({exc.status_code})"
    except runwayml.APIConnectionError:
        return f"no answer from {client.base_url.host}"
    return f"answers · {org.credit_balance} credits"


def _offline(settings: Settings, capability: str) -> str:
    if capability == "narration":
        return "built in" if shutil.which("espeak-ng") else "espeak-ng is not installed"
    if capability == "transcription":
        return "not available: voice prompts are refused"
    return "built in"


def capability_rows(settings: Settings, today: date) -> list[Row]:
    probes: dict[str, Callable[[Settings], str]] = {
        "openai": _openai_answers, "runway": _runway_answers,
    }
    keys = {"openai": settings.openai_api_key, "runway": settings.runwayml_api_secret}
    answers: dict[str, str] = {}
    rows = []
    for used in models_in_use(settings):
        if used.provider == "offline":
            server = _offline(settings, used.capability)
            rows.append(Row(used.capability, "offline", used.model, "not needed", server, "-",
                            not server.startswith("espeak-ng is not")))
            continue
        has_key = keys[used.provider] is not None
        if has_key and used.provider not in answers:
            answers[used.provider] = probes[used.provider](settings)
        server = answers.get(used.provider, "not asked: no key")
        shutdown = shutdown_of(used.model)
        near = shutdown is not None and (shutdown - today).days <= WARN_DAYS
        rows.append(Row(
            used.capability, used.provider, used.model, "set" if has_key else "missing",
            server, shutdown.isoformat() if shutdown else "none announced",
            has_key and server.startswith("answers") and "refuses" not in server and not near,
        ))
    return rows


def _database(settings: Settings) -> tuple[str, bool]:
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "reachable", True
    except Exception:  # any driver's error means the same to the operator
        where = make_url(settings.db_url).render_as_string(hide_password=True)
        return f"unreachable at {where}", False
    finally:
        engine.dispose()


def _media_store(settings: Settings) -> tuple[str, bool]:
    from videobot.media.store import MediaStoreError, open_media_store

    try:
        store = open_media_store(settings)
        store.check()
    except MediaStoreError as exc:
        return str(exc), False
    return f"writable at {store.where}", True


def _prefect(api_url: str | None) -> tuple[str, bool]:
    if not api_url:
        return "not configured: `videobot make` starts a local server for its run", True
    try:
        reply = httpx.get(f"{api_url.rstrip('/')}/health", timeout=PROBE_SECONDS)
    except httpx.HTTPError:
        return f"no answer at {api_url}", False
    if reply.status_code != 200:
        return f"answers {reply.status_code} at {api_url}", False
    return f"reachable at {api_url}", True


def report(settings: Settings, api_url: str | None, today: date) -> tuple[str, bool]:
    """The doctor's table and whether everything is ready."""
    rows = capability_rows(settings, today)
    header = Row("capability", "provider", "model", "key", "server", "shutdown", True)
    table = [header, *rows]
    widths = [max(len(getattr(r, f)) for r in table)
              for f in ("what", "provider", "model", "key", "server")]
    lines = []
    for row in table:
        cells = [row.what, row.provider, row.model, row.key, row.server]
        mark = "  " if row is header else ("ok" if row.ok else "!!")
        lines.append(f"{mark} " + "  ".join(c.ljust(w) for c, w in zip(cells, widths,
                                                                          strict=True))
                     + f"  {row.shutdown}")
    database, db_ok = _database(settings)
    store, store_ok = _media_store(settings)
    prefect, prefect_ok = _prefect(api_url)
    lines.append(f"{'ok' if db_ok else '!!'} app database: {database}")
    lines.append(f"{'ok' if store_ok else '!!'} media store: {store}")
    lines.append(f"{'ok' if prefect_ok else '!!'} Prefect API: {prefect}")
    healthy = db_ok and store_ok and prefect_ok and all(r.ok for r in rows)
    return "\n".join(lines), healthy
