"""Serve every deployment from this one process: `python -m deployments.serve`.

Runs wait at gates suspended, holding no process; a resumed run is picked up within one runner
poll, so the poll is kept short (`PREFECT_RUNNER_POLL_FREQUENCY`, 1 s by default here).
"""

from __future__ import annotations

import os

# Before Prefect reads its settings: a short runner poll is what keeps resume latency low.
os.environ.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "1")

from prefect import serve  # noqa: E402

from flows.cleanup import cleanup_media  # noqa: E402
from flows.make_video import make_video  # noqa: E402
from flows.rerun_stage import rerun_stage  # noqa: E402
from tasks.limits import ensure_limits  # noqa: E402
from tasks.runtime import runtime  # noqa: E402

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
    serve(*deployments(), limit=max(10, settings.max_concurrent_jobs * 4))


if __name__ == "__main__":
    main()
