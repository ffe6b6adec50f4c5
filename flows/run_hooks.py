"""What a run does about the processes that ran it before, and about work nobody will finish.

- Crashed (kill -9, out of memory, a lost machine): Prefect automations put the run back on
  the schedule, whether the serving process saw its flow-run process die (the run is marked
  Crashed) or its heartbeats stopped because the whole stack died
  (`orchestration.crash_recovery`). The run then starts again and `carry_on_after_crash`
  tells the person it carries on where it was (the job's replay record skips what is done,
  and nothing is paid twice) or, past a bounded number of crashes, fails the job and says so.
- Cancelled (/cancel, the UI): the serving process (or worker) stops the process, which exits
  at once (its provider waits end on the termination signal: `videobot.stopping`),
  then runs `on_cancellation`: `stop_provider_tasks` stops the provider work the process had
  started and not finished, so work nobody will see stops being paid for where the provider
  allows it.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.context import FlowRunContext
from prefect.states import Cancelled, Completed, Failed, State

from orchestration.crash_recovery import crash_history
from tasks.limits import expected_prices
from tasks.runtime import runtime
from videobot.channels import channel_for
from videobot.db.maintenance import cancel_unended
from videobot.db.models import FINISHED_STATUSES, JobStatus, VideoJob
from videobot.ledger import settle_abandoned
from videobot.naming import short_id
from videobot.providers.base import TaskCanceller

log = logging.getLogger(__name__)

# Crashes of one run carried on from; the next one fails the job.
MAX_CRASH_RETRIES = 3


def carry_on_after_crash(job_id: UUID, channel: str) -> State | None:
    """Called as a run starts: None to carry on (the person told, when the last attempt
    crashed); a Failed state when the run's processes died more often than they are retried,
    the job failed and the person told; the job's own end when it had ended already."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    with get_client(sync_client=True) as client:
        crashes, after_crash = crash_history(client.read_flow_run_states(context.flow_run.id))
    if not after_crash:
        return None
    rt = runtime()
    job = rt.store.job(job_id)
    if job.status in FINISHED_STATUSES:
        # The job ended before its run was taken for lost: the process died just after, or
        # the server read a heartbeat only after the run's end. Nothing to carry on: the run
        # ends again as the job did (a failed job is retried by an operator, not by this).
        log.warning("Job %s had already ended (%s); its run ends again", job_id, job.status)
        return ended_run_state(job)
    if crashes > MAX_CRASH_RETRIES:
        reason = f"the run's process died {crashes} times"
        rt.store.update_job(job_id, status=JobStatus.FAILED,
                            error=f"the {job.stage} stage failed: {reason}")
        stop_abandoned_work(job_id)
        rt.channel(channel).fail(rt.store.job(job_id), reason)
        return Failed(message=reason)
    log.warning("Job %s carries on after crash %d of its run", job_id, crashes)
    # Not working until it has a job slot again (its status still says what the dead
    # process was doing): queued, as /status and `videobot status` then show it.
    rt.store.join_queue(job_id)
    rt.channel(channel).resumed(job)
    return None


def ended_run_state(job: VideoJob) -> State:
    """The final state of a run whose job has ended."""
    if job.status == JobStatus.FAILED:
        return Failed(message=job.error or "the job failed")
    if job.status == JobStatus.CANCELLED:
        return Cancelled(message=f"job {short_id(job.id)} was cancelled")
    return Completed(message=f"job {short_id(job.id)} had ended: {job.status}")


def stop_provider_tasks(flow: Any, flow_run: Any, state: Any) -> None:
    """`on_cancellation` hook: the job ends cancelled with its run (cancelled in the UI or
    with the prefect CLI, where nothing else tells the job), and its provider work still in
    flight stops."""
    job_id = UUID(str(flow_run.parameters["job_id"]))
    rt = runtime()
    # Someone asked for this in Prefect when the run itself is Cancelling. A runner shutting
    # down (Prefect's CancellationManager.cancel_all, "Runner is shutting down.") cancels its
    # runs too and runs this hook with the run still Running: the stack stopped, not a
    # person, so the job is not ended for it.
    state = flow_run.state
    asked = state is not None and (state.is_cancelling() or state.is_cancelled())
    own = rt.store.job(job_id).flow_run_id == flow_run.id  # not a refused duplicate run's
    if asked and own and cancel_unended(rt.store, job_id):
        job = rt.store.job(job_id)
        try:
            rt.channel(flow_run.parameters.get("channel") or channel_for(job)).progress(
                job, "Cancelled.")
        except Exception as exc:  # the job is cancelled either way; a lost message is logged
            log.warning("Could not tell the person job %s was cancelled: %s",
                        short_id(job_id), exc)
    stop_abandoned_work(job_id)


def stop_abandoned_work(job_id: UUID) -> None:
    """Cancel the job's provider tasks still open in the journal (Runway: DELETE), and write
    its calls still in flight to the ledger as possibly paid: the job ended without them."""
    rt = runtime()
    cancellers: dict[str, TaskCanceller] = {}
    for provider in (rt.providers.images, rt.providers.animator, rt.providers.narrator):
        if isinstance(provider, TaskCanceller):
            cancellers.setdefault(provider.name, provider)
    for key, provider_name, task_id in rt.store.open_tasks(str(rt.media.job_dir(job_id))):
        canceller = cancellers.get(provider_name)
        if canceller is not None:
            canceller.cancel_task(task_id)
        rt.store.close_task(key)
    settle_abandoned(rt.store, job_id, expected_prices(job_id))


def stop_work_of_ended_jobs() -> int:
    """Once, as the serving process starts: stop the work of jobs that ended while the
    process that started it was gone (cancelled while the stack was down, say). Returns how
    many jobs had some."""
    jobs = runtime().store.jobs_with_work_left()
    for job_id in jobs:
        log.warning("Job %s ended with provider work in flight; stopping it", job_id)
        stop_abandoned_work(job_id)
    return len(jobs)
