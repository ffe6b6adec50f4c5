"""Crashed runs end in a state someone acts on: two Prefect automations, kept on the server.

- A run left RUNNING (or PENDING) by a process that died with no one to see it (the whole
  `videobot up` tree killed, a lost machine) is found by its silence: every flow-run process
  sends Prefect's heartbeat every `HEARTBEAT_SECONDS` and our beat every 10 s
  (`orchestration.liveness`), and the automation fires when a run has sent neither for
  `LOST_RUN_SECONDS` (45 s by default: three beats in a row may go missing before a live run
  is taken for dead; a Prefect server too busy to answer its events connection's pings
  delays or drops events). This is
  Prefect's own zombie-run detection (docs: "How to detect and respond to zombie flows"),
  chosen over a start-up sweep of the serving process because it needs no process of ours to
  be alive, sees runs of any worker on any machine, and cannot mistake a run another worker
  is running for a dead one.
- A run the serving process saw die (its flow-run process exited abnormally) is marked
  Crashed by that process; the second automation schedules every crashed run again.

A live run taken for dead all the same is started again only by a runner that does not have
its process (another worker); the two attempts then meet on the job, and the older one steps
aside (`tasks.attempts`).

Both put the run back on the schedule in a state named `RETRY_STATE_NAME`; the run then bounds
the retries itself and tells the person (`flows.run_hooks.carry_on_after_crash`), which an
automation cannot do. (Deployment retries do not apply: Prefect retries a flow that raised, in
the same process, never one whose process died.)

The zombie automation schedules the run again itself rather than marking it Crashed for the
second one to react to: after a restart of the Prefect server, a state event that follows one
from before the restart (a Crashed that comes within 5 minutes of the run's Running) is held
by the server's event ordering for 15 minutes (`prefect.server.events.ordering`: the events it
has seen are kept in memory), so that retry would wait 15 minutes.

That hold also delays the state events of a run that was working when the server restarted,
but not its beats and heartbeats (they follow nothing): the window opened by its last beat
closes with no state event counted, after the run has ended. So the zombie automation's
change of state is not forced: Prefect refuses Scheduled to a run Completed with its result
persisted (`HandleFlowTerminalStateTransitions`), and a delivered job's run is not started
again, every 45 s for 15 minutes, by windows its own heartbeat opens. (A Failed or Cancelled
run is still scheduled again: it starts, finds its job ended and ends the same way.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.states import State

from orchestration.liveness import ALIVE_EVENT

# Prefect's minimum; the runner passes it to each flow-run process it starts.
HEARTBEAT_SECONDS = 30
# The flows whose runs are jobs (the deployments of `make-video` and `rerun-stage`).
JOB_FLOWS = ["make-video", "rerun-stage"]
ZOMBIE_AUTOMATION = "videobot: retry runs whose heartbeats stopped"
RETRY_AUTOMATION = "videobot: retry crashed runs"
# The name of the Scheduled state a run is put in after a crash: the run counts these.
RETRY_STATE_NAME = "RetryAfterCrash"

_FLOW_RUNS = {"prefect.resource.id": "prefect.flow-run.*"}


def crash_recovery_automations(
    silence: int, job_flows: list[str] = JOB_FLOWS
) -> list[AutomationCore]:
    """The zombie-run and crashed-run automations, for runs of the flows named `job_flows`; a
    run silent for `silence` seconds is taken for dead. A busy machine may delay a beat, and a
    live run taken for dead would be started a second time: keep `silence` well over
    `liveness.BEAT_SECONDS`."""
    of_job_flows = {"prefect.resource.role": "flow", "prefect.resource.name": job_flows}
    from_deployments = [of_job_flows, {"prefect.resource.role": "deployment"}]
    zombie = AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description="A videobot run whose process went silent (no heartbeat, no beat) is "
        "scheduled again; the run itself bounds how often and tells the person.",
        trigger=EventTrigger(
            # After a run starts or beats, some event of that run is due within the window: a
            # heartbeat or beat, or a state change (paused, suspended, finished...).
            after={"prefect.flow-run.heartbeat", ALIVE_EVENT, "prefect.flow-run.Running",
                   "prefect.flow-run.Pending"},
            expect={"prefect.flow-run.*", ALIVE_EVENT},
            match=_FLOW_RUNS,
            # Runs from a deployment only: a local run has no worker to start it again.
            match_related=from_deployments,
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=silence),
        ),
        actions=[_schedule_again(f"No heartbeat for {silence} s: the run's process is gone",
                                 force=False)],
    )
    retry = AutomationCore(
        name=RETRY_AUTOMATION,
        description="A crashed videobot run is scheduled again; the run itself bounds how "
        "often and tells the person.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match=_FLOW_RUNS,
            match_related=from_deployments,
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[_schedule_again("Crashed", force=True)],
    )
    return [zombie, retry]


def _schedule_again(why: str, *, force: bool) -> ChangeFlowRunState:
    return ChangeFlowRunState(
        state=StateType.SCHEDULED, name=RETRY_STATE_NAME, force=force,
        message=f"{why}. Scheduled again; it carries on where it stopped",
    )


def ensure_crash_recovery(silence: int, job_flows: list[str] = JOB_FLOWS) -> list[str]:
    """Create (or update) the automations on the Prefect server; called at start-up by every
    serving process and worker. Returns their names."""
    wanted = crash_recovery_automations(silence, job_flows)
    with get_client(sync_client=True) as client:
        for automation in wanted:
            found = client.read_automations_by_name(automation.name)
            for extra in found[1:]:  # two serving processes started at once
                client.delete_automation(extra.id)
            if not found:
                client.create_automation(automation)
            elif _definition(found[0]) != _definition(automation):
                client.update_automation(found[0].id, automation)
            # An unchanged automation is left as it is: an update would drop the windows its
            # trigger has open, and with them the runs that died while nothing ran.
    return [a.name for a in wanted]


def _definition(automation: AutomationCore) -> dict[str, Any]:
    """What an automation does, without the ids the server or the client gave it."""
    fields = set(AutomationCore.model_fields)
    data: dict[str, Any] = AutomationCore.model_validate(
        automation.model_dump(include=fields)
    ).model_dump(mode="json")
    data["trigger"].pop("id", None)
    for name in ("after", "expect", "for_each"):  # sets: their order means nothing
        data["trigger"][name] = sorted(data["trigger"].get(name) or [])
    return data


def crash_history(states: Sequence[State]) -> tuple[int, bool]:
    """From a run's states: how many times it was scheduled again after a crash, and whether
    the attempt now starting is one of those (the last time it was scheduled)."""
    ordered = sorted(states, key=lambda s: s.timestamp)
    retries = [s for s in ordered if s.type == StateType.SCHEDULED]
    crashes = sum(1 for s in retries if s.name == RETRY_STATE_NAME)
    return crashes, bool(retries) and retries[-1].name == RETRY_STATE_NAME
