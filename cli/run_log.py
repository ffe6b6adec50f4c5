"""A run's full log lives in Prefect: keep it off the terminal, and say where to read it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from videobot.db.models import VideoJob

TERMINAL_LOGGING = Path(__file__).with_name("terminal_logging.yml")


def keep_run_logs_off_the_terminal() -> None:
    """Flow and task run logs (tracebacks included) go to the run's log in the Prefect API
    only, through Prefect's own PREFECT_LOGGING_SETTINGS_PATH; an operator's own setting wins.

    Prefect reads its logging configuration when it is imported, so this runs before that;
    in a process that has imported Prefect already it changes nothing.
    """
    if "prefect" in sys.modules or not TERMINAL_LOGGING.is_file():
        return
    os.environ.setdefault("PREFECT_LOGGING_SETTINGS_PATH", str(TERMINAL_LOGGING))


def run_page(job: VideoJob, *, temporary_server: bool) -> str | None:
    """The job's run in the Prefect UI: under PREFECT_UI_URL when set, else beside the API
    the run used (its URL without /api).

    A temporary server (a `videobot make` with no Prefect API configured) stops with the
    command; its runs stay in Prefect's database, where `prefect server start` shows them at
    its usual address, so the link names that address.
    """
    from prefect.settings import get_current_settings

    from orchestration.runs import run_ui_url

    api_url = job.prefect_api_url
    if temporary_server:
        server = get_current_settings().server.api
        api_url = f"http://{server.host}:{server.port}/api"
    if job.flow_run_id is None or not api_url:
        return None
    return run_ui_url(api_url, job.flow_run_id)
