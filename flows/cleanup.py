"""The `cleanup-media` flow: expire gates nobody answered, then free the disk of old jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from prefect import flow, get_run_logger, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from tasks.cleanup import (
    RemovedMedia,
    expire_waiting_job,
    remove_job_media,
    remove_kept_photos,
)
from tasks.runtime import runtime
from videobot.db.maintenance import as_utc, gates_to_expire, jobs_to_clean
from videobot.db.models import Approval, VideoJob, utcnow


def human_size(n: int) -> str:
    """Bytes as a short human-readable size: 512 B, 3.4 MB."""
    size, unit = float(n), "B"
    for bigger in ("KB", "MB", "GB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"


def _when(moment: datetime | None) -> str:
    return f"{as_utc(moment):%Y-%m-%d %H:%M} UTC" if moment else "?"


def _short(job_id: UUID) -> str:
    return str(job_id)[:8]


def _outcomes(
    futures: Sequence[PrefectFuture[Any]], job_ids: Sequence[UUID], problems: list[str]
) -> dict[UUID, Any]:
    """Each job's result; a failed one is noted in `problems` and does not stop the rest."""
    results: dict[UUID, Any] = {}
    for job_id, future in zip(job_ids, futures, strict=True):
        result = future.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            problems.append(f"job {_short(job_id)}: {result}")
        else:
            results[job_id] = result
    return results


def cleanup_report(
    older_than: timedelta,
    removed: Sequence[tuple[VideoJob, RemovedMedia]],
    expired: Sequence[tuple[VideoJob, Approval]],
    problems: Sequence[str],
    photos: int = 0,
) -> str:
    """The markdown shown as the run's artifact."""
    files = sum(r.files for _, r in removed)
    size = sum(r.bytes for _, r in removed)
    hours = older_than.total_seconds() / 3600
    lines = ["# Media cleanup", ""]
    if removed:
        lines += [
            f"Removed the media of {len(removed)} job(s) finished more than {hours:g} h ago: "
            f"{files} files, {human_size(size)}.",
            "",
            "| job | status | finished | files | size |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| `{_short(job.id)}` | {r.status} | {_when(job.finished_at or job.updated_at)} "
            f"| {r.files} | {human_size(r.bytes)} |"
            for job, r in removed
        ]
    else:
        lines.append(f"No media to remove (nothing finished more than {hours:g} h ago).")
    if expired:
        lines += ["", f"Expired {len(expired)} job(s) nobody answered:", ""]
        lines += [
            f"- `{_short(job.id)}` at the {gate.stage} gate (attempt {gate.attempt}), "
            f"waiting since {_when(gate.opened_at)}"
            for job, gate in expired
        ]
    if photos:
        lines += ["", f"Removed {photos} photo(s) sent for a next video that did not come "
                  f"within {hours:g} h."]
    if problems:
        lines += ["", "Failed:", ""] + [f"- {p}" for p in problems]
    return "\n".join(lines) + "\n"


@flow(name="cleanup-media", task_runner=ThreadPoolTaskRunner(max_workers=4))
def cleanup_media(
    older_than_hours: Annotated[float, Field(gt=0)] | None = None,
) -> dict[str, int]:
    """Expire jobs that waited at a gate past APPROVAL_TIMEOUT_HOURS, then delete the media of
    jobs finished more than `older_than_hours` (FILE_CLEANUP_HOURS by default) ago, and the
    photos people sent for a next video that did not come in that time."""
    rt = runtime()
    logger = get_run_logger()
    now = utcnow()
    problems: list[str] = []

    timeout_hours = rt.settings.approval_timeout_hours
    stale = gates_to_expire(rt.store, now, timedelta(hours=timeout_hours))
    stale_ids = [job.id for job, _ in stale]
    done = _outcomes(
        expire_waiting_job.map(stale_ids, unmapped(timeout_hours)), stale_ids, problems
    )
    expired = [(job, gate) for job, gate in stale if done.get(job.id) is True]
    for job, gate in expired:
        logger.info(
            "Expired job %s: waited at the %s gate since %s",
            _short(job.id),
            gate.stage,
            _when(gate.opened_at),
        )

    hours = older_than_hours if older_than_hours is not None else rt.settings.file_cleanup_hours
    # Listed after the expiry, so jobs expired just now wait for a later run like any other.
    old = jobs_to_clean(rt.store, now, timedelta(hours=hours))
    old_ids = [job.id for job in old]
    results = _outcomes(remove_job_media.map(old_ids, unmapped(hours)), old_ids, problems)
    gone = {job_id for job_id, r in results.items() if r.removed}
    removed = [(job, results[job.id]) for job in old if job.id in gone]
    for r in results.values():
        if r.removed:
            logger.info(
                "Removed %d files (%s) of job %s (%s)",
                r.files,
                human_size(r.bytes),
                _short(r.job_id),
                r.status,
            )
        else:
            logger.info(
                "Left job %s alone: no longer due for cleanup (%s)", _short(r.job_id), r.status
            )
    photos = remove_kept_photos.submit(hours).result(raise_on_failure=False)
    if isinstance(photos, BaseException):
        problems.append(f"kept photos: {photos}")
        photos = 0
    elif photos:
        logger.info("Removed %d photo(s) kept for a next video that did not come", photos)
    for problem in problems:
        logger.error("Cleanup failed for %s", problem)

    create_markdown_artifact(
        cleanup_report(timedelta(hours=hours), removed, expired, problems, photos),
        key="cleanup-report",
        description="Media removed and gates expired by this run",
    )
    if problems:
        raise RuntimeError(f"cleanup failed for {len(problems)} item(s): {'; '.join(problems)}")
    return {
        "jobs_cleaned": len(removed),
        "files_removed": sum(r.files for _, r in removed),
        "bytes_removed": sum(r.bytes for _, r in removed),
        "jobs_expired": len(expired),
        "photos_removed": photos,
    }
