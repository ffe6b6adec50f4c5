"""Housekeeping steps: delete one job's media, expire one job that waited too long at a gate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from prefect import get_client, get_run_logger, task
from prefect.exceptions import ObjectNotFound
from prefect.runtime import task_run
from prefect.states import Cancelled

from tasks.runtime import ONCE, runtime
from videobot.channels import channel_for
from videobot.db.maintenance import (
    cancel_unended,
    drop_kept_photos,
    expire_job,
    expiry_reason,
    is_expiry,
    record_media_removed,
    still_to_clean,
    still_to_expire,
)
from videobot.db.models import utcnow
from videobot.db.store import JobNotFound
from videobot.media.paths import key
from videobot.media.store import LocalFolderStore, UnsafeMediaPath

__all__ = [
    "RemovedMedia",
    "UnsafeMediaPath",
    "expire_waiting_job",
    "remove_job_media",
    "remove_kept_photos",
]


@dataclass(frozen=True)
class RemovedMedia:
    """What one cleanup step did; `removed` is False when the job no longer qualified."""

    job_id: UUID
    status: str
    files: int
    bytes: int
    removed: bool


def _short_run_name() -> str:
    return f"{task_run.task_name}-{str(task_run.parameters['job_id'])[:8]}"


def _retry_unless_unsafe(task: Any, task_run: Any, state: Any) -> bool:
    """A refused path stays refused; retrying only makes sense for I/O errors."""
    return not isinstance(state.data, UnsafeMediaPath)


@task(
    name="remove-media",
    task_run_name=_short_run_name,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_retry_unless_unsafe,
    **ONCE,
)
def remove_job_media(job_id: UUID, older_than_hours: float) -> RemovedMedia:
    """Delete one finished job's media from the store (and this machine's scratch copies left
    by a failed step) and record it; the job row stays."""
    rt = runtime()
    now = utcnow()
    # Checked again right before deleting: the job may have been rerun since it was listed.
    job = still_to_clean(rt.store, job_id, now, timedelta(hours=older_than_hours))
    if job is None:
        try:
            status = rt.store.job(job_id).status
        except JobNotFound:
            status = "deleted"
        return RemovedMedia(job_id, status, 0, 0, removed=False)
    prefix = key(rt.media.job_dir(job_id))
    files, size = rt.files.delete_prefix(prefix)
    LocalFolderStore(rt.settings.scratch_dir / "out").delete_prefix(prefix)
    record_media_removed(rt.store, job_id, size, files, now)
    return RemovedMedia(job_id, job.status, files, size, removed=True)


@task(name="remove-kept-photos", retries=2, retry_delay_seconds=5, **ONCE)
def remove_kept_photos(older_than_hours: float) -> int:
    """Delete the photos people sent for a next job that never came within the time media
    are kept; how many."""
    rt = runtime()
    # Taken off their owners first: a photo deleted while a job took it would be lost to it.
    dropped = drop_kept_photos(rt.store, utcnow(), timedelta(hours=older_than_hours))
    for photo in dropped:
        rt.files.delete(photo)
    return len(dropped)


def cancel_paused_run(flow_run_id: UUID, reason: str) -> bool | None:
    """Cancel the flow run if it is paused or suspended; True when it was cancelled, None
    when it had been cancelled already (in the UI, with the prefect CLI).

    A run that no longer exists, or that is moving again, is left as it is.
    """
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(flow_run_id)
            if run.state is not None and run.state.is_cancelled():
                return True if is_expiry(run.state.message) else None  # an earlier try's
            if run.state is None or not run.state.is_paused():
                return False
            # Forced: the orchestration rules only allow a paused run to resume or time out.
            client.set_flow_run_state(flow_run_id, Cancelled(message=reason), force=True)
        except ObjectNotFound:
            return False
    return True


@task(name="expire-gate", task_run_name=_short_run_name, retries=2, retry_delay_seconds=5,
      **ONCE)
def expire_waiting_job(job_id: UUID, timeout_hours: float) -> bool:
    """Expire a job stuck at a gate: cancel its paused run, mark it expired, tell the person.

    Returns False when the job no longer qualified (a decision arrived first).
    """
    rt = runtime()
    logger = get_run_logger()
    timeout = timedelta(hours=timeout_hours)
    now = utcnow()
    found = still_to_expire(rt.store, job_id, now, timeout)
    if found is None:
        return False
    job, _gate = found
    # The run is cancelled before the row changes: if this step fails, the job still waits
    # and the next cleanup run tries again; the other order could leave a paused run behind.
    stopped = (cancel_paused_run(job.flow_run_id, expiry_reason(timeout))
               if job.flow_run_id is not None else False)
    if stopped is None:  # cancelled in Prefect while it waited: the job ends with its run
        if cancel_unended(rt.store, job_id):
            try:
                rt.channel(channel_for(job)).progress(rt.store.job(job_id), "Cancelled.")
            except Exception as exc:  # the job is cancelled either way; a lost message is logged
                logger.warning("Could not tell the person job %s was cancelled: %s",
                               str(job_id)[:8], exc)
        return False
    if stopped:
        logger.info("Cancelled paused flow run %s of job %s", job.flow_run_id, str(job_id)[:8])
    expired = expire_job(rt.store, job_id, now, timeout)
    if expired is None:
        return False
    try:
        rt.channel(channel_for(expired)).expired(expired, timeout_hours)
    except Exception as exc:  # the job has expired either way; a lost message is only logged
        logger.warning("Could not tell the person job %s expired: %s", str(job_id)[:8], exc)
    return True
