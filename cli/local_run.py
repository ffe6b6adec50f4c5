"""Run `make-video` in this process and answer its gates from the terminal."""

from __future__ import annotations

import contextvars
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from prefect import tags
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from cli.stack import SLOT_WAIT_SECONDS, SLOT_WAIT_SETTING, WRITE_BATCHES
from orchestration.gate_service import decide
from orchestration.local_api import certificates_skipped
from orchestration.prefect_server import local_server
from tasks.runtime import runtime
from videobot.channels import TerminalChannel, register_channel
from videobot.costs import gate_note
from videobot.db.bot_records import BotRecords
from videobot.db.models import Approval, VideoJob
from videobot.db.store import unready_scenes
from videobot.ledger import short_reason
from videobot.messages import GATE_HELP, GATE_HELP_UNREADY, media_text, script_text
from videobot.motion import job_motion
from videobot.naming import job_tags
from videobot.requests import InvalidRequest
from videobot.terminal_input import parse_gate_line

# The local server runs as `videobot up` runs its own: the cap on a denied slot's Retry-After
# (30 s by default: up to 30 s of idle slot for a 5-second clip), and its writes in batches.
LOCAL_SERVER_SETTINGS = {SLOT_WAIT_SETTING: SLOT_WAIT_SECONDS, **WRITE_BATCHES}


@contextmanager
def prefect_api() -> Iterator[str]:
    """The Prefect API to use: the configured one, or a local server for this process.

    The local server keeps its history in Prefect's own database (~/.prefect by default), so
    the run shows up in the UI later; its address is recorded on the job so that
    `videobot approve` from another shell can reach it while this process runs.
    """
    prefect = get_current_settings()
    if prefect.api.url:
        with certificates_skipped(prefect.api.url, prefect.home):
            yield prefect.api.url
        return
    with local_server(LOCAL_SERVER_SETTINGS) as api_url, \
            temporary_settings({PREFECT_API_URL: api_url}), \
            certificates_skipped(api_url, prefect.home):
        try:
            yield api_url
        finally:
            # The run's last logs and events are sent before the server stops (Prefect's
            # workers send them in the background, and at exit would find no server).
            APILogWorker.drain_all(timeout=5)
            EventsWorker.drain_all(timeout=5)


def _stdin_lines(lines: queue.Queue[str | None]) -> None:
    for line in sys.stdin:
        lines.put(line)
    lines.put(None)


def run_locally(job_id: UUID, *, auto_approve: bool) -> tuple[str | None, str | None]:
    """Run the flow to its end; returns (final video path, error). Gates are asked here."""
    from prefect.exceptions import CancelledRun

    from flows.make_video import make_video

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["path"] = make_video(job_id, "terminal", auto_approve)
        except CancelledRun:  # a cancelled job ends its run Cancelled: no video, no error
            outcome["path"] = None
        except BaseException as exc:  # reported to the person below
            outcome["error"] = exc

    # This command tells the outcome itself, once, with the run's log link.
    register_channel("terminal", lambda: _FollowedTerminal(locate=runtime().files.locate))
    job = runtime().store.job(job_id)
    with tags(*job_tags(job.user_id, job.format, runtime().settings)):
        # A new thread starts with empty context variables, and Prefect keeps its settings
        # (the API URL of `prefect_api`) and tags in them: the flow runs in a copy of these.
        context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(target,), name=f"make-video-{job_id}",
                              daemon=True)
    worker.start()
    if not auto_approve:
        answer_gates(job_id, worker.is_alive)
    worker.join()
    error = outcome.get("error")
    return outcome.get("path"), short_reason(error) if error else None


class _FollowedTerminal(TerminalChannel):
    """The terminal channel of a run this command follows: progress and gates as usual; a
    failure is left to the command, which prints it once with where the full log is."""

    def fail(self, job: VideoJob, reason: str) -> None:
        return None


def answer_gates(job_id: UUID, running: Callable[[], bool], *, show: bool = False) -> None:
    """Ask at each gate the job reaches, while `running()`; answers resume the run.

    `show` prints what is to be judged first, for runs whose channel output goes elsewhere
    (a served deployment prints in its own process).
    """
    store = runtime().store
    lines: queue.Queue[str | None] = queue.Queue()
    interactive = os.environ.get("VIDEOBOT_NO_PROMPT") != "1"
    if interactive:
        threading.Thread(target=_stdin_lines, args=(lines,), daemon=True).start()
    asked: tuple[str, int] | None = None
    while running():
        gate = store.waiting_gate(job_id)
        if gate is None or gate.presented_at is None:
            asked = None
            time.sleep(0.3)
            continue
        if asked != (gate.stage, gate.attempt):
            asked = (gate.stage, gate.attempt)
            if show:
                print(gate_content(job_id, gate), flush=True)
            print(_prompt_text(job_id, gate, interactive), flush=True)
        try:
            line = lines.get(timeout=0.3)
        except queue.Empty:
            continue
        if line is None:
            interactive = False
            print(_prompt_text(job_id, gate, interactive), flush=True)
            continue
        _answer(job_id, gate, line)


def gate_content(job_id: UUID, gate: Approval) -> str:
    """The script, or the scene files and contact sheet, as recorded for this gate."""
    rt = runtime()
    job = rt.store.job(job_id)
    if gate.stage == "script":
        script = rt.store.script_of(job)
        heard = job.prompt if job.prompt_kind == "voice" else None
        return script_text(script, gate.attempt, heard, job.language) if script else ""
    sheet = rt.media.contact_sheet(job_id, gate.stage, gate.attempt).as_posix()
    segments = rt.store.segments(job_id)
    motion = job_motion(rt.settings, job.motion_model, job.motion_seconds)
    note = gate_note(rt.settings, gate.stage, len(segments), motion)
    shown = rt.files.locate(sheet) if rt.files.exists(sheet) else None
    return media_text(gate.stage, segments, shown, gate.attempt, note, rt.files.locate)


def _prompt_text(job_id: UUID, gate: Approval, interactive: bool) -> str:
    other_shell = f"videobot approve {job_id} --stage {gate.stage}"
    if not interactive:
        return f"Waiting at the {gate.stage} gate. Decide from another shell: {other_shell} …"
    return f"{gate.stage} gate: {_help(job_id, gate)}\n(or from another shell: {other_shell})"


def _help(job_id: UUID, gate: Approval) -> str:
    """The choices at this gate; approving is not one while a scene has no media."""
    if gate.stage in GATE_HELP_UNREADY and unready_scenes(
        runtime().store.segments(job_id), gate.stage
    ):
        return GATE_HELP_UNREADY[gate.stage]
    return GATE_HELP[gate.stage]


def _answer(job_id: UUID, gate: Approval, line: str) -> None:
    """Decide at the gate through the gate service; an answer typed before the run paused
    waits for the pause."""
    store = runtime().store
    if not line.strip():
        return
    try:
        decision = parse_gate_line(gate.stage, line, decided_by="terminal")
    except InvalidRequest as exc:
        print(f"  {exc}. {_help(job_id, gate)}", flush=True)
        return
    outcome = decide(store, BotRecords(store.db), job_id, gate.stage, gate.attempt, decision)
    if outcome.done:
        print(f"  → {decision.action}", flush=True)
    elif outcome.refusal is not None:
        print(f"  {outcome.refusal.text}", flush=True)
    elif outcome.kind == "ended":
        print("  its run has ended (cancelled, or it waited too long): no decision reaches it",
              flush=True)
    elif outcome.error is not None:
        print(f"  the run could not take it just now ({short_reason(outcome.error)}); "
              "answer again", flush=True)
    else:
        print("  that gate was already decided (from another shell?)", flush=True)
