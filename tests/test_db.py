"""The job store on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import inspect

from tests.serving import REPO
from videobot.db.engine import MIGRATIONS, Database, newest_revision, normalise_url
from videobot.db.models import Base, JobStatus
from videobot.db.store import JobNotFound, JobStore
from videobot.decisions import Decision
from videobot.ledger import metered
from videobot.providers.base import ProviderError, ScriptRequest, Usage
from videobot.providers.offline.script_writer import OfflineScriptWriter


def _job(store: JobStore) -> uuid.UUID:
    return store.create_job(user_id="u1", prompt="How volcanoes work", language="en", fmt="16:9").id


def test_migration_creates_the_tables_and_is_idempotent(database_url: str) -> None:
    """Migrating twice leaves the four tables of the schema."""
    db = Database(database_url)
    db.migrate()
    db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert {"video_jobs", "video_segments", "approvals", "provider_calls"} <= tables
    db.dispose()


def test_the_newest_revision_is_alembics_head() -> None:
    """The revision a current schema is recognised by (read from the versions' file names)
    is the head alembic migrates to."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert newest_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_current_schema_is_checked_without_loading_alembic(database_url: str) -> None:
    """A process whose database is already migrated (every resumed run's) finds it current
    with one query and never imports alembic."""
    check = (
        "import sys; from videobot.db.engine import Database, schema_revision; "
        f"db = Database({database_url!r}); db.migrate(); "
        "print(schema_revision(db.engine), 'alembic' in sys.modules)"
    )
    db = Database(database_url)
    db.migrate()
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.split() == [newest_revision(), "False"]
    db.dispose()


def test_migrations_build_the_columns_the_models_declare(database_url: str) -> None:
    """Every column of the models exists after migrating, so no model runs ahead of a migration."""
    db = Database(database_url)
    db.migrate()
    inspector = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        assert {c.name for c in table.columns} <= have, table.name
    db.dispose()


def test_job_round_trip_and_prefix_lookup(store: JobStore) -> None:
    """A job is found by its id and by a unique prefix; unknown ids raise JobNotFound."""
    job_id = _job(store)
    job = store.job(job_id)
    assert (job.status, job.stage, job.prompt) == (JobStatus.QUEUED, "intake", "How volcanoes work")
    assert store.find_job(str(job_id)[:8]).id == job_id
    with pytest.raises(JobNotFound):
        store.find_job("00000000")
    with pytest.raises(JobNotFound):
        store.find_job("not-a-job; drop table video_jobs")
    with pytest.raises(JobNotFound):
        store.job(uuid.uuid4())


def test_script_and_plan_are_stored(store: JobStore) -> None:
    """A script and its ten scenes survive a round trip; a new plan replaces the old one."""
    job_id = _job(store)
    writer = OfflineScriptWriter()
    script, _ = writer.write_script(ScriptRequest("How volcanoes work", "en"))
    store.save_script(job_id, script, 1)
    assert store.script_of(store.job(job_id)) == script
    plan, _ = writer.plan_segments(script, "en")
    store.save_plan(job_id, plan)
    store.save_plan(job_id, plan)
    segments = store.segments(job_id)
    assert [s.index for s in segments] == list(range(10))
    assert [s.section for s in segments] == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]


def test_ledger_adds_up_cost(store: JobStore) -> None:
    """Every call is a ledger row; the job's cost is the sum of successful calls' costs."""
    job_id = _job(store)
    store.record_call(job_id, stage="images", segment=2, provider="p",
                      usage=Usage("p", "m", 1, "images", 0.04, "req-1"), latency_ms=12)
    store.record_call(job_id, stage="images", segment=3, provider="p",
                      usage=Usage("p", "m", 1, "images", 0.04), latency_ms=15)
    store.record_call(job_id, stage="images", segment=4, provider="p", usage=None,
                      latency_ms=3, error="HTTP 500")
    calls = store.calls(job_id)
    assert [c.outcome for c in calls] == ["ok", "ok", "error"]
    assert calls[0].request_id == "req-1"
    assert store.job(job_id).cost_usd == pytest.approx(0.08)
    assert store.call_counts(job_id) == {"images": 2}


def test_a_failed_call_that_still_cost_money_is_on_the_ledger(store: JobStore) -> None:
    """Tokens spent on answers that could not be used are recorded with the failure."""
    job_id = _job(store)
    spent = Usage("openai", "gpt", 900, "tokens", 0.0021, "resp-9", attempts=3)

    def refused() -> tuple[None, Usage]:
        raise ProviderError("no usable script in 3 tries", permanent=True, usage=spent)

    with pytest.raises(ProviderError):
        metered(store, job_id, stage="script", segment=None, provider="openai", call=refused)
    [call] = store.calls(job_id)
    assert (call.outcome, call.units, call.unit, call.request_id) == ("error", 900, "tokens",
                                                                      "resp-9")
    assert call.cost_usd == pytest.approx(0.0021)
    assert store.job(job_id).cost_usd == pytest.approx(0.0021)


def test_gate_lifecycle(store: JobStore) -> None:
    """A gate opens (job waiting), is decided once, and its first decision is kept."""
    job_id = _job(store)
    store.open_gate(job_id, "images", 1)
    assert store.job(job_id).status == JobStatus.WAITING
    gate = store.waiting_gate(job_id)
    assert gate is not None and (gate.stage, gate.attempt) == ("images", 1)
    store.record_decision(job_id, "images", 1, Decision.make("redo", "u1", scenes=[2, 7]))
    store.record_decision(job_id, "images", 1, Decision.make("approve", "u1"))
    decided = store.decision(job_id, "images", 1)
    assert decided is not None and (decided.action, decided.scenes) == ("redo", [2, 7])
    assert store.waiting_gate(job_id) is None
    edit = Decision.make("edit", "u1", scene=4, text="a fox")
    store.record_decision(job_id, "images", 2, edit)
    assert store.decision(job_id, "images", 2) == edit


def test_finished_status_sets_finished_at(store: JobStore) -> None:
    """Delivered, failed, cancelled and expired jobs get a finish time."""
    job_id = _job(store)
    store.update_job(job_id, status=JobStatus.CANCELLED)
    assert store.job(job_id).finished_at is not None


def test_postgres_urls_use_psycopg() -> None:
    """postgres:// and postgresql:// URLs are read with the psycopg 3 driver."""
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_queue_position_follows_the_order_jobs_started_waiting(store: JobStore) -> None:
    """Queued jobs are numbered in the order they began to wait; others have no position."""
    first, second, third = _job(store), _job(store), _job(store)
    for job_id in (first, second, third):
        store.update_job(job_id, status=JobStatus.QUEUED)
    store.update_job(second, status=JobStatus.RUNNING)
    ahead = store.queue_position(first)  # other tests' jobs may be queued in a shared database
    assert ahead is not None and ahead >= 1
    assert store.queue_position(second) is None
    assert store.queue_position(third) == ahead + 1


def test_a_queued_job_keeps_its_place_when_written_and_requeues_at_the_end(
    store: JobStore,
) -> None:
    """Other writes to a queued job (its run's id, a voice file) do not move it back in line;
    a job that leaves the queue and comes back joins at the end."""
    first, second = _job(store), _job(store)
    ahead = store.queue_position(first)
    assert ahead is not None
    store.update_job(first, flow_run_name="brave-otter", voice_path="/tmp/voice.ogg")
    assert (store.queue_position(first), store.queue_position(second)) == (ahead, ahead + 1)
    store.update_job(first, status=JobStatus.RUNNING)
    store.update_job(first, status=JobStatus.QUEUED)
    assert (store.queue_position(second), store.queue_position(first)) == (ahead, ahead + 1)
    queue = [job_id for job_id, _ in store.queued_jobs()]
    assert queue.index(second) < queue.index(first)


def test_an_ended_job_does_not_rejoin_the_queue(store: JobStore) -> None:
    """A run that starts or gets its slot after the job was cancelled changes nothing."""
    job_id = _job(store)
    assert store.join_queue(job_id), "a new job is queued already"
    store.update_job(job_id, status=JobStatus.CANCELLED, stage="cancelled")
    assert not store.join_queue(job_id)
    assert not store.leave_queue(job_id)
    assert store.job(job_id).status == JobStatus.CANCELLED
    waiting = _job(store)
    store.update_job(waiting, status=JobStatus.WAITING)
    assert store.join_queue(waiting) and store.leave_queue(waiting)
    assert store.job(waiting).status == JobStatus.RUNNING
    assert not store.leave_queue(waiting), "only a queued job leaves the queue"


def test_a_resumed_job_queues_again_only_from_waiting(store: JobStore) -> None:
    """A run resumed from its gate queues the job at the end of the queue; a job whose run
    has taken its slot already (running, or waiting at a later gate) or that ended is left
    as it is."""
    ahead, job_id = _job(store), _job(store)
    store.update_job(job_id, status=JobStatus.WAITING, stage="script-gate")
    assert not store.queue_resumed(job_id, "images"), "it waits at another gate"
    assert store.queue_resumed(job_id, "script")
    assert store.job(job_id).status == JobStatus.QUEUED
    positions = store.queue_position(ahead), store.queue_position(job_id)
    assert positions[0] is not None and positions[1] == positions[0] + 1
    assert store.join_queue(job_id) and store.queue_position(job_id) == positions[1]
    assert store.leave_queue(job_id)
    assert not store.queue_resumed(job_id, "script"), "a job that works is not queued again"
    assert store.job(job_id).status == JobStatus.RUNNING
    store.update_job(ahead, status=JobStatus.CANCELLED, stage="script-gate")
    assert not store.queue_resumed(ahead, "script")
    assert store.job(ahead).status == JobStatus.CANCELLED
