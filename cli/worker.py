"""`videobot worker`: a Prefect process worker on the videobot work pool, for any machine.

Every worker shares three things with the others: the Prefect API (runs, limits, leases), the
app database (jobs, ledger) and the media store. Start-up checks each and says in one line
which one it cannot use. Then it makes sure of the pool, the limits and the crash
automations (idempotent: every worker does it) and becomes `prefect worker start`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from videobot.settings import Settings

REPO = Path(__file__).resolve().parents[1]


class NotReady(Exception):
    """One shared service this worker cannot use; the message is the one line to print."""


def check_prefect_api() -> str:
    from prefect import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise NotReady("PREFECT_API_URL is not set: workers need the shared Prefect server")
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        raise NotReady(f"cannot reach the Prefect API at {url} ({type(error).__name__})")
    return url


def check_app_database(settings: Settings) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from videobot.db.engine import Database, normalise_url

    shown = make_url(normalise_url(settings.db_url)).render_as_string(hide_password=True)
    db = Database(settings.db_url)
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        db.migrate()
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        raise NotReady(f"cannot reach the app database at {shown}: {reason}") from None
    finally:
        db.dispose()


def check_media_store(settings: Settings) -> str:
    from videobot.media.store import MediaStoreError, open_media_store

    store = open_media_store(settings)
    try:
        store.check()
    except MediaStoreError as exc:
        raise NotReady(str(exc)) from None
    return store.where


def prepare(settings: Settings) -> list[str]:
    """Check the three shared services, then the pool, limits and automations; lines to print."""
    api = check_prefect_api()
    check_app_database(settings)
    where = check_media_store(settings)
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectAlreadyExists

    from orchestration.crash_recovery import ensure_crash_recovery
    from tasks.limits import ensure_limits, process_limit

    # The pool's own concurrency limit counts its Pending and Running runs across every
    # worker: runs queued beyond it wait Scheduled, with no process on any machine.
    runs_at_once = process_limit(settings)
    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(
                name=settings.worker_pool, type="process", concurrency_limit=runs_at_once))
        except ObjectAlreadyExists:
            client.update_work_pool(
                settings.worker_pool, WorkPoolUpdate(concurrency_limit=runs_at_once))
    limits = ensure_limits(settings)
    ensure_crash_recovery(settings.lost_run_seconds)
    return [
        f"videobot: Prefect API {api} · media {where} · pool {settings.worker_pool} "
        f"({runs_at_once} runs at once)",
        "videobot: limits " + ", ".join(f"{k}={v}" for k, v in limits.items()),
    ]


def worker_environment(settings: Settings) -> dict[str, str]:
    """The worker's environment, which its flow-run processes inherit."""
    from prefect.settings import get_current_settings

    from orchestration.local_api import skip_certificates_for_local_api

    prefect = get_current_settings()
    skip_certificates_for_local_api(prefect.api.url, prefect.home)
    env = dict(os.environ)
    env.setdefault("VIDEOBOT_HOME", str(REPO))  # prefect.yaml's pull step goes there
    # prefect.yaml's run command is `python -m prefect.engine`: this interpreter's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("PREFECT_WORKER_QUERY_SECONDS", f"{settings.worker_poll_seconds:g}")
    env.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30")
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return env


def run_worker(settings: Settings, name: str | None = None) -> int:
    """Check, prepare, then replace this process with `prefect worker start`."""
    try:
        for line in prepare(settings):
            print(line, flush=True)
    except NotReady as exc:
        print(f"videobot: {exc}", file=sys.stderr)
        return 2
    prefect = Path(sys.executable).with_name("prefect")
    argv = [str(prefect), "worker", "start", "--pool", settings.worker_pool, "--type", "process"]
    if name:
        argv += ["--name", name]
    os.execve(prefect, argv, worker_environment(settings))
    return 0  # not reached
