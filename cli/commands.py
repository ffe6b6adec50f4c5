"""The `videobot` command: make a video, decide at a gate, read a job's status."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Sequence
from contextlib import nullcontext

import httpx

from cli.decision_args import decision_from_args, not_waiting
from cli.errors import USAGE_ERROR, CommandError
from cli.make_inputs import motion_choice, reference_photo, voice_note
from videobot.decisions import GATE_STAGES
from videobot.requests import (
    InvalidRequest,
    clean_prompt,
    parse_format,
    resolve_language,
    voice_language,
)
from videobot.settings import ConfigurationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videobot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    make = commands.add_parser("make", help="make a 50-second narrated video from a prompt")
    make.add_argument("prompt", nargs="?", help="what the video is about (up to 2,000 characters)")
    make.add_argument("--voice", metavar="FILE", help="a voice note (ogg) to use as the prompt")
    make.add_argument("--format", help="16:9, 9:16 or 1:1 (default: VIDEO_FORMAT, 16:9)")
    make.add_argument("--language",
                      help="en, ru or auto, the prompt's own (default: LANGUAGE, auto)")
    make.add_argument("--reference", metavar="PHOTO",
                      help="your own photo (JPEG, PNG or WebP): every scene is drawn after it")
    make.add_argument("--motion", metavar="MODEL[:SECONDS]",
                      help="the clip model (and length), e.g. gen4.5 or veo3.1_fast:6")
    make.add_argument("--auto-approve", action="store_true", help="approve every gate")

    approve = commands.add_parser("approve", help="decide at the gate a job is waiting at")
    approve.add_argument("job", help="job id (or its first 8 characters)")
    approve.add_argument("--stage", required=True, choices=GATE_STAGES)
    action = approve.add_mutually_exclusive_group()
    action.add_argument("--redo", metavar="SCENES", help="scenes to make again, e.g. 3,5")
    action.add_argument("--feedback", help="regenerate the script with this feedback")
    action.add_argument("--edit", metavar="PART_OR_SCENE",
                        help="intro/main/outro/style or a scene")
    action.add_argument("--cancel", action="store_true", help="cancel the job")
    approve.add_argument("--text", help="the new text, with --edit")

    up = commands.add_parser("up", help="run the Prefect server and the deployments here")
    up.add_argument("--port", type=int, default=4200, help="Prefect UI/API port (4200)")

    status = commands.add_parser("status", help="stage, per-scene state and cost of a job")
    status.add_argument("job", help="job id (or its first 8 characters)")

    worker = commands.add_parser(
        "worker", help="run a Prefect worker on the videobot work pool (any number, anywhere)"
    )
    worker.add_argument("--name", help="the worker's name in Prefect (default: Prefect's own)")

    commands.add_parser("bot", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    commands.add_parser(
        "doctor", help="check each provider, model, key and server, and the databases"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {
        "make": cmd_make,
        "approve": cmd_approve,
        "status": cmd_status,
        "up": cmd_up,
        "bot": cmd_bot,
        "worker": cmd_worker,
        "doctor": cmd_doctor,
    }[args.command]
    try:
        return handler(args)
    except CommandError as exc:
        print(f"videobot: {exc}", file=sys.stderr)
        return exc.code
    except (InvalidRequest, ConfigurationError) as exc:
        print(f"videobot: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except httpx.ConnectError:  # the configured Prefect server is down or elsewhere
        from prefect.settings import get_current_settings

        url = get_current_settings().api.url or "the configured address"
        print(f"videobot: cannot reach the Prefect API at {url}", file=sys.stderr)
        return USAGE_ERROR


def cmd_make(args: argparse.Namespace) -> int:
    from cli.run_log import keep_run_logs_off_the_terminal, run_page

    keep_run_logs_off_the_terminal()  # before Prefect is imported
    from prefect.settings import get_current_settings

    from cli.local_run import prefect_api, run_locally
    from cli.stack import running_stack_api
    from cli.submit import submit_and_follow
    from tasks.limits import ensure_limits
    from tasks.runtime import runtime
    from videobot.budget import day_spent_up
    from videobot.references import store_reference

    settings_ = _settings()
    fmt = parse_format(args.format or settings_.video_format)
    voice = voice_note(args.voice) if args.voice else None
    if voice is not None and args.prompt:
        raise CommandError("give a text prompt or --voice, not both")
    prompt = "" if voice else clean_prompt(args.prompt or "")
    chosen = args.language or settings_.language
    language = voice_language(chosen) if voice else resolve_language(chosen, prompt)
    motion = motion_choice(settings_, args.motion) if args.motion else None
    reference = reference_photo(args.reference) if args.reference else None
    rt = runtime()
    store = rt.store
    over = day_spent_up(settings_, store, f"cli:{getpass.getuser()}")
    if over is not None:
        raise CommandError(f"today's budget (${over:.2f}, MAX_COST_PER_USER_DAY) is spent")
    started = time.monotonic()
    stack_api = running_stack_api(settings_)
    temporary_server = stack_api is None and not get_current_settings().api.url
    with prefect_api() if stack_api is None else nullcontext(stack_api):
        if stack_api is None:
            ensure_limits(settings_)
        job = store.create_job(
            user_id=f"cli:{getpass.getuser()}",
            prompt=prompt,
            language=language,
            fmt=fmt.value,
            prompt_kind="voice" if voice else "text",
        )
        if motion is not None:
            store.update_job(job.id, motion_model=motion.model, motion_seconds=motion.seconds)
        if reference is not None:
            store.update_job(job.id, reference_path=store_reference(rt.files, reference, job.id))
        if voice is not None:
            target = rt.media.voice_prompt(job.id).as_posix()
            rt.files.put(target, voice)
            store.update_job(job.id, voice_path=target)
        print(f"Job {job.id} · {fmt.value} · {language}", flush=True)
        if stack_api is None:
            path, error = run_locally(job.id, auto_approve=args.auto_approve)
        else:
            path, error = submit_and_follow(job.id, stack_api, auto_approve=args.auto_approve)
    job = store.job(job.id)
    elapsed = time.monotonic() - started
    # Where the full log is (tracebacks stay there), then at most one line for a failure.
    page = run_page(job, temporary_server=temporary_server)
    log = f" · log: {page}" if page else ""
    if page and temporary_server:
        log += " (after `prefect server start`)"
    print(
        f"Prefect flow run: {job.flow_run_name} · {elapsed:.1f} s · cost ${job.cost_usd:.4f}{log}",
        flush=True,
    )
    if error or job.status == "failed":
        raise CommandError(job.error or f"the job failed: {error}", code=1)
    if not path:
        print(f"Job {job.status}.")
        return 0
    print(f"Video: {rt.files.locate(path)}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from orchestration.gate_service import decide
    from videobot.db.bot_records import BotRecords

    decision = decision_from_args(args)  # the arguments first: a mistake reads no job
    store = _store()
    job = _find(store, args.job)
    gate = store.waiting_gate(job.id)
    if gate is None or gate.stage != args.stage or job.status != "waiting":
        raise CommandError(not_waiting(job, args.stage, gate))
    api_url = get_current_settings().api.url or job.prefect_api_url
    if job.flow_run_id is None or not api_url:
        raise CommandError(f"job {str(job.id)[:8]} has no flow run to resume")
    with temporary_settings({PREFECT_API_URL: api_url}):
        outcome = decide(store, BotRecords(store.db), job.id, gate.stage, gate.attempt, decision)
    if outcome.refusal is not None:
        raise CommandError(outcome.refusal.text)
    if outcome.kind == "resume_failed":
        raise _resume_error(outcome.error, api_url)
    if not outcome.done:
        now = store.job(job.id)
        if outcome.kind == "ended" and now.status == "waiting":
            raise CommandError(f"job {str(job.id)[:8]}: its run has ended, so no decision "
                               "reaches it (the cleanup expires a gate left this way)")
        raise CommandError(not_waiting(now, args.stage, store.waiting_gate(job.id)))
    print(f"Job {str(job.id)[:8]}: {args.stage} → {decision.action}")
    return 0


def _resume_error(error: Exception | None, api_url: str) -> CommandError:
    import httpx

    if isinstance(error, OSError | httpx.TransportError):
        return CommandError(
            f"cannot reach the Prefect API at {api_url}; is the process running this job "
            "still up?",
            code=1,
        )
    from videobot.ledger import short_reason

    reason = short_reason(error) if error else "no reason given"
    return CommandError(f"the run could not be resumed: {reason}")


def cmd_up(args: argparse.Namespace) -> int:
    from cli.stack import run_stack

    return run_stack(_settings(), port=args.port)


def cmd_status(args: argparse.Namespace) -> int:
    from prefect.settings import get_current_settings

    from cli.run_log import run_page
    from cli.stack import running_stack_api
    from tasks.runtime import runtime
    from videobot.messages import status_text

    store = _store()
    job = _find(store, args.job)
    position = store.queue_position(job.id)
    print(status_text(job, store.segments(job.id), store.calls(job.id), position,
                      runtime().files.locate))
    # With no API configured and no `videobot up` running, a `make` ran on a server of its
    # own that stopped with it: its runs are shown at `prefect server start`'s address.
    temporary = not get_current_settings().api.url and job.prefect_api_url not in (
        None, running_stack_api(_settings()))
    page = run_page(job, temporary_server=temporary)
    if page:
        print(f"run page {page}" + (" (after `prefect server start`)" if temporary else ""))
    return 0


def _settings():  # type: ignore[no-untyped-def]
    from videobot.settings import get_settings

    return get_settings()


def _store():  # type: ignore[no-untyped-def]
    from tasks.runtime import runtime

    return runtime().store


def _find(store, prefix: str):  # type: ignore[no-untyped-def]
    from videobot.db.store import JobNotFound

    try:
        return store.find_job(prefix)
    except JobNotFound:
        raise CommandError(f"no job with id '{prefix}'") from None


def cmd_doctor(args: argparse.Namespace) -> int:
    """Exit 0 when every capability is ready, 1 when something needs attention."""
    from datetime import date

    from prefect.settings import get_current_settings

    from cli.doctor import report
    from cli.stack import running_stack_api

    settings_ = _settings()
    # As `make` finds it: the configured API, else a `videobot up` running here.
    api_url = get_current_settings().api.url or running_stack_api(settings_)
    table, healthy = report(settings_, api_url, date.today())
    print(table)
    return 0 if healthy else 1


def cmd_worker(args: argparse.Namespace) -> int:
    from cli.worker import run_worker

    settings_ = _settings()
    settings_.require_keys()
    return run_worker(settings_, name=args.name)


def cmd_bot(args: argparse.Namespace) -> int:
    from bot.__main__ import main as run_bot

    return run_bot()

