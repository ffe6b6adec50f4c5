"""What a flow-run process logs when a run ends the way a person asked it to."""

from __future__ import annotations

import logging

from prefect.exceptions import CancelledRun

# Prefect's `run_flow` logs every exception out of the engine with this message and its
# traceback, to the run's log in the UI (prefect.flow_engine.run_flow, error_logger). A flow
# that returns a Cancelled state, as ours does when a job is cancelled at a gate, raises
# CancelledRun there: a cancel a person asked for would read as an unexpected error.
ENGINE_EXIT = "Engine execution exited with unexpected exception"


class CancelledIsNoError(logging.Filter):
    """Drops Prefect's "unexpected exception" record when the exception is the run's own
    Cancelled state; the run's state and its message ("cancelled at the gate") say what
    happened. Every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, CancelledRun) and record.getMessage() == ENGINE_EXIT)


def quiet_cancelled_runs(logger: logging.Logger | None = None) -> None:
    """Adds the filter to Prefect's flow-run logger (or `logger`), once."""
    logger = logger or logging.getLogger("prefect.flow_runs")
    if not any(isinstance(f, CancelledIsNoError) for f in logger.filters):
        logger.addFilter(CancelledIsNoError())
