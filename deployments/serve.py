"""Serve every deployment from this one process: `python -m deployments.serve`.

Runs wait at gates suspended, holding no process; a resumed run is picked up within one runner
poll, so the poll is kept short (`RUNNER_POLL_SECONDS`, 0.5 s by default).
"""

from __future__ import annotations

from prefect import serve

from flows.cleanup import cleanup_media
from flows.make_video import make_video
from flows.rerun_stage import rerun_stage
from tasks.limits import ensure_limits
from tasks.runtime import runtime

TAGS = ["videobot"]


def deployments() -> list:  # type: ignore[type-arg]
    return [
        make_video.to_deployment(name="make-video", tags=TAGS),
        rerun_stage.to_deployment(name="rerun-stage", tags=TAGS),
        cleanup_media.to_deployment(name="cleanup-media", tags=TAGS, cron="0 * * * *"),
    ]


def main() -> None:
    settings = runtime().settings  # checks provider keys and migrates the app database
    limits = ensure_limits(settings)
    print("videobot: limits " + ", ".join(f"{k}={v}" for k, v in limits.items()), flush=True)
    # Runs waiting at a gate hold no process; the job limit caps the working ones.
    serve(
        *deployments(),
        limit=max(10, settings.max_concurrent_jobs * 4),
        # A resumed run waits for this poll before it starts again; Prefect's own setting
        # (PREFECT_RUNNER_POLL_FREQUENCY) is whole seconds only.
        query_seconds=settings.runner_poll_seconds,
    )


if __name__ == "__main__":
    main()
