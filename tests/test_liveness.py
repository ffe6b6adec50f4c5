"""Why runs beat on their own (`orchestration.liveness`), and when they do not. That a working
run on a work pool beats every 10 s, and that each beat counts for the lost-run automation, is
tested on the pool (`tests/test_workers.py`)."""

from __future__ import annotations

import threading

import pytest
from prefect import flow
from prefect.settings.models.flows import FlowsSettings
from pydantic import ValidationError

from orchestration.crash_recovery import crash_recovery_automations
from orchestration.liveness import ALIVE_EVENT, BEAT_SECONDS, beating
from videobot.settings import LOST_RUN_SECONDS


def test_prefect_sends_its_heartbeat_no_more_often_than_every_30_s() -> None:
    """The Prefect behaviour the beats are for: its heartbeat cannot be set below 30 s.
    Should Prefect accept a shorter one, its heartbeat could take the beats' place."""
    assert FlowsSettings(heartbeat_frequency=30).heartbeat_frequency == 30
    with pytest.raises(ValidationError, match="greater than or equal to 30"):
        FlowsSettings(heartbeat_frequency=BEAT_SECONDS)


def test_the_default_window_lets_three_beats_in_a_row_go_missing() -> None:
    """The lost-run automation starts its window on a beat and expects one within it: 45 s
    by default, over four beats."""
    [zombie, _] = crash_recovery_automations(LOST_RUN_SECONDS)
    assert ALIVE_EVENT in zombie.trigger.after and ALIVE_EVENT in zombie.trigger.expect
    assert LOST_RUN_SECONDS // BEAT_SECONDS == 4


def _beating_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "videobot-alive"]


def test_a_run_that_no_worker_could_start_again_does_not_beat(prefect_server: str) -> None:
    """Outside a flow run, and in a run of no deployment (the automation ignores those), the
    block runs and no thread is started."""
    with beating():
        assert _beating_threads() == []

    @flow
    def local_run() -> int:
        with beating():
            return len(_beating_threads())

    assert local_run() == 0
