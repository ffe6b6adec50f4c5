"""Serve every deployment from this one process: `python -m deployments.serve`.

Runs wait at gates suspended, holding no process, and at most one run more than the job cap has
one (`tasks.limits.process_limit`); a resumed run is picked up within one runner poll, so the
poll is kept short (`RUNNER_POLL_SECONDS`, 0.25 s by default).

At start-up it also sets what keeps crashes from costing more than time: the limits, the
automations that retry crashed runs and catch runs whose process died unseen (their flow-run
processes send heartbeats), and a sweep that stops provider work of jobs that ended while
nothing ran them; with `--reconcile-slots` (as `videobot up` starts it), a check that gives
back job slots no working run holds.
"""

from __future__ import annotations

import argparse

from prefect import serve
from prefect.settings import get_current_settings

from flows.cleanup import cleanup_media
from flows.make_video import make_video
from flows.rerun_stage import rerun_stage
from flows.run_hooks import stop_work_of_ended_jobs
from orchestration.crash_recovery import HEARTBEAT_SECONDS, JOB_FLOWS, ensure_crash_recovery
from orchestration.local_api import skip_certificates_for_local_api
from tasks.limits import ensure_limits, process_limit
from tasks.runtime import runtime
from tasks.slot_reconciliation import keep_slots_reconciled

TAGS = ["videobot"]


def deployments() -> list:  # type: ignore[type-arg]
    return [
        make_video.to_deployment(name="make-video", tags=TAGS),
        rerun_stage.to_deployment(name="rerun-stage", tags=TAGS),
        cleanup_media.to_deployment(name="cleanup-media", tags=TAGS, cron="0 * * * *"),
    ]


def prepare() -> None:
    """What the server must hold before runs start: the limits and the crash automations;
    and the provider work of jobs that ended while nothing ran them, stopped."""
    settings = runtime().settings  # checks provider keys and migrates the app database
    limits = ensure_limits(settings)
    print("videobot: limits " + ", ".join(f"{k}={v}" for k, v in limits.items()), flush=True)
    automations = ensure_crash_recovery(settings.lost_run_seconds)
    print("videobot: automations " + "; ".join(automations), flush=True)
    if stopped := stop_work_of_ended_jobs():
        print(f"videobot: stopped the provider work of {stopped} ended jobs", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deployments.serve")
    parser.add_argument("--prepare", action="store_true",
                        help="set up the Prefect server (limits, crash automations) and exit; "
                        "for deployments run by workers on a work pool")
    parser.add_argument("--reconcile-slots", action="store_true",
                        help="give back job slots no run holds, every lease period; only "
                        "where runs of these deployments are the only holders (videobot up)")
    args = parser.parse_args(argv)
    prepare()
    if args.prepare:
        return
    settings = runtime().settings
    if args.reconcile_slots:
        keep_slots_reconciled(JOB_FLOWS)
    prefect = get_current_settings()
    skip_certificates_for_local_api(prefect.api.url, prefect.home)  # for its flow-run processes
    serve(
        *deployments(),
        limit=process_limit(settings),
        # A resumed run waits for this poll before it starts again; Prefect's own setting
        # (PREFECT_RUNNER_POLL_FREQUENCY) is whole seconds only.
        query_seconds=settings.runner_poll_seconds,
        # Each flow-run process beats this often; the zombie-run automation listens.
        heartbeat_seconds=HEARTBEAT_SECONDS,
    )


if __name__ == "__main__":
    main()
