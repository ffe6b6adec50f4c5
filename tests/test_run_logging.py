"""A job cancelled at a gate is no error in its run's log; a real error still is."""

from __future__ import annotations

import logging

import pytest
from prefect import flow
from prefect.exceptions import CancelledRun
from prefect.flow_engine import run_flow
from prefect.states import Cancelled

from flows.run_logging import ENGINE_EXIT, quiet_cancelled_runs


@flow
def ends_cancelled() -> object:
    return Cancelled(message="cancelled at the gate")


@flow
def breaks() -> None:
    raise ValueError("a real fault")


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def engine_log() -> tuple[logging.Logger, Kept]:
    """A logger of its own, handed to Prefect's run_flow as the run's error logger."""
    logger = logging.getLogger("tests.run_logging.engine")
    logger.propagate = False
    kept = Kept()
    logger.handlers = [kept]
    logger.filters = []
    return logger, kept


def test_prefect_logs_a_flow_that_returns_cancelled_as_an_unexpected_error(
    prefect_server: str, engine_log: tuple[logging.Logger, Kept]
) -> None:
    """The upstream behaviour `flows.run_logging` works around: should Prefect stop logging a
    returned Cancelled state as an error, this fails and the filter can go."""
    logger, kept = engine_log
    with pytest.raises(CancelledRun):
        run_flow(ends_cancelled, error_logger=logger)
    assert [(r.levelno, r.getMessage()) for r in kept.records] == [(logging.ERROR, ENGINE_EXIT)]


def test_the_filter_drops_only_the_cancelled_runs_record(
    prefect_server: str, engine_log: tuple[logging.Logger, Kept]
) -> None:
    logger, kept = engine_log
    quiet_cancelled_runs(logger)
    quiet_cancelled_runs(logger)
    assert len(logger.filters) == 1
    with pytest.raises(CancelledRun):
        run_flow(ends_cancelled, error_logger=logger)
    assert kept.records == []
    with pytest.raises(ValueError, match="a real fault"):
        run_flow(breaks, error_logger=logger)
    assert [r.getMessage() for r in kept.records] == [ENGINE_EXIT]
    assert isinstance(kept.records[0].exc_info[1], ValueError)  # type: ignore[index]
