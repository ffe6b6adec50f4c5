"""Media cleanup and approval expiry: the selection on both databases, the tasks, the flow."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.exceptions import ParameterTypeError
from prefect.states import Cancelled, Suspended
from sqlalchemy import inspect, update

from flows.cleanup import cleanup_media, human_size
from flows.make_video import make_video
from orchestration.runs import api_client
from tasks.cleanup import remove_job_media
from tasks.runtime import runtime
from tests.helpers import new_job
from videobot.db.engine import Database
from videobot.db.maintenance import (
    as_utc,
    expire_job,
    expiry_reason,
    gates_to_expire,
    jobs_to_clean,
    record_media_removed,
)
from videobot.db.models import Approval, JobStatus, utcnow
from videobot.db.store import JobNotFound, JobStore
from videobot.decisions import Decision
from videobot.media.store import LocalFolderStore, UnsafeMediaPath, remove_tree

DAY = timedelta(hours=24)
CLEANUP_AFTER = timedelta(hours=72)
GATE_TIMEOUT = timedelta(hours=48)


def _job(store: JobStore) -> uuid.UUID:
    return store.create_job(user_id="u1", prompt="How tides work", language="en", fmt="16:9").id


def _finished(store: JobStore, job_id: uuid.UUID, status: str, ago: timedelta) -> uuid.UUID:
    store.update_job(job_id, status=status)
    # A second update: update_job stamps finished_at itself when the status is final.
    store.update_job(job_id, finished_at=utcnow() - ago)
    return job_id


def _unfinished(store: JobStore, job_id: uuid.UUID, status: str, ago: timedelta) -> uuid.UUID:
    """A job in `status` whose timestamps (even an earlier finish) all lie `ago` back."""
    old = utcnow() - ago
    store.update_job(job_id, status=status, created_at=old, updated_at=old, finished_at=old)
    return job_id


def _gate(store: JobStore, job_id: uuid.UUID, ago: timedelta, stage: str = "script",
          attempt: int = 1) -> None:
    store.open_gate(job_id, stage, attempt)
    with store.db.session() as s:
        s.execute(
            update(Approval)
            .where(Approval.job_id == job_id, Approval.stage == stage, Approval.attempt == attempt)
            .values(opened_at=utcnow() - ago)
        )


# The selection, on SQLite and PostgreSQL --------------------------------------------------


def test_migration_adds_the_media_cleanup_columns(database_url: str) -> None:
    """Migrating to head adds media_removed_at and media_removed_bytes to video_jobs."""
    db = Database(database_url)
    db.migrate()
    columns = {c["name"] for c in inspect(db.engine).get_columns("video_jobs")}
    assert {"media_removed_at", "media_removed_bytes"} <= columns
    db.dispose()


def test_jobs_to_clean_lists_only_old_finished_jobs(store: JobStore) -> None:
    """Old delivered/failed/cancelled/expired jobs are listed; unfinished or recent ones never."""
    now = utcnow()
    old = {
        _finished(store, _job(store), status, 4 * DAY)
        for status in ("delivered", "failed", "cancelled", "expired")
    }
    no_finish_time = _job(store)
    store.update_job(no_finish_time, status="failed")
    store.update_job(no_finish_time, finished_at=None, updated_at=now - 4 * DAY)
    left_alone = {
        _finished(store, _job(store), "delivered", timedelta(hours=1)),
        _unfinished(store, _job(store), "queued", 10 * DAY),
        _unfinished(store, _job(store), "running", 10 * DAY),
        _unfinished(store, _job(store), "waiting", 10 * DAY),
    }
    listed = {job.id for job in jobs_to_clean(store, now, CLEANUP_AFTER)}
    assert old | {no_finish_time} <= listed
    assert not listed & left_alone


def test_recorded_removal_keeps_the_row_and_ends_the_listing(store: JobStore) -> None:
    """After record_media_removed the row stays with its time and bytes, and is not listed."""
    now = utcnow()
    job_id = _finished(store, _job(store), "delivered", 4 * DAY)
    record_media_removed(store, job_id, removed_bytes=12_345, removed_files=4, now=now)
    job = store.job(job_id)
    assert (job.status, job.media_removed_bytes) == ("delivered", 12_345)
    assert job.media_removed_at is not None and as_utc(job.media_removed_at) == now
    assert job_id not in {j.id for j in jobs_to_clean(store, now, CLEANUP_AFTER)}
    with pytest.raises(ValueError):
        record_media_removed(store, job_id, removed_bytes=-1, removed_files=0, now=now)
    with pytest.raises(JobNotFound):
        record_media_removed(store, uuid.uuid4(), removed_bytes=0, removed_files=0, now=now)


def test_a_job_rerun_after_cleanup_is_listed_again_once_it_finishes_again(
    store: JobStore,
) -> None:
    """A cleaned job that ran again is not listed while running, but is once finished again."""
    job_id = _finished(store, _job(store), "delivered", 10 * DAY)
    record_media_removed(store, job_id, 100, 1, utcnow() - 5 * DAY)
    store.update_job(job_id, status="running")
    later = utcnow() + 4 * DAY
    assert job_id not in {j.id for j in jobs_to_clean(store, later, CLEANUP_AFTER)}
    store.update_job(job_id, status="delivered")
    assert job_id in {j.id for j in jobs_to_clean(store, later, CLEANUP_AFTER)}


def test_gates_to_expire_lists_waiting_jobs_at_an_old_open_gate(store: JobStore) -> None:
    """Only a waiting job whose newest open gate is older than the timeout is listed."""
    now = utcnow()
    stale = _job(store)
    _gate(store, stale, 3 * DAY, "images", 2)
    recent = _job(store)
    _gate(store, recent, timedelta(hours=1))
    asked_again = _job(store)  # an old gate left open, but it now waits at a fresh one
    _gate(store, asked_again, 3 * DAY, "script", 1)
    _gate(store, asked_again, timedelta(hours=1), "script", 2)
    decided = _job(store)
    _gate(store, decided, 3 * DAY)
    store.record_decision(decided, "script", 1, Decision.make("approve", "u1"))
    running = _job(store)
    _gate(store, running, 3 * DAY)
    store.set_stage(running, "script")

    listed = {job.id: gate for job, gate in gates_to_expire(store, now, GATE_TIMEOUT)}
    assert stale in listed
    assert (listed[stale].stage, listed[stale].attempt) == ("images", 2)
    assert not set(listed) & {recent, asked_again, decided, running}


def test_expire_job_marks_the_job_and_leaves_replay_intact(store: JobStore) -> None:
    """Expiry sets status and reason but leaves the gate undecided, so replay still works."""
    now = utcnow()
    job_id = _job(store)
    _gate(store, job_id, 3 * DAY)
    expired = expire_job(store, job_id, now, GATE_TIMEOUT)
    assert expired is not None
    assert (expired.status, expired.error) == ("expired", "no decision arrived within 48 hours")
    finished_at = store.job(job_id).finished_at
    assert finished_at is not None and as_utc(finished_at) == now
    assert store.gate(job_id, "script", 1).decision is None
    assert store.decision(job_id, "script", 1) is None
    assert expire_job(store, job_id, now, GATE_TIMEOUT) is None, "expires once"

    answered = _job(store)
    _gate(store, answered, 3 * DAY)
    store.record_decision(answered, "script", 1, Decision.make("approve", "u1"))
    assert expire_job(store, answered, now, GATE_TIMEOUT) is None
    assert store.job(answered).status == "waiting"


# The file steps --------------------------------------------------------------------------


def test_remove_tree_counts_files_and_bytes_and_does_not_follow_links(tmp_path: Path) -> None:
    """remove_tree deletes a tree, counts what went, removes links without following them."""
    outside, tree = tmp_path / "outside.txt", tmp_path / "job"
    outside.write_bytes(b"keep me")
    (tree / "clips").mkdir(parents=True)
    (tree / "video.mp4").write_bytes(b"v" * 3000)
    (tree / "clips" / "scene-01-r1.mp4").write_bytes(b"c" * 2000)
    (link := tree / "clips" / "link").symlink_to(outside)
    link_size = link.lstat().st_size  # a link counts as itself, not as what it points to
    assert remove_tree(tree) == (3, 5000 + link_size)
    assert not tree.exists()
    assert outside.read_bytes() == b"keep me"
    assert remove_tree(tree) == (0, 0), "a missing directory is nothing to do"


def test_job_media_dir_refuses_a_directory_that_leads_outside_the_root(tmp_path: Path) -> None:
    """A job directory that is a symlink (here to a folder outside the root) is refused."""
    files, job_id = LocalFolderStore(tmp_path / "media"), uuid.uuid4()
    outside = tmp_path / "elsewhere"
    files.root.mkdir()
    (outside / "keep.mp4").parent.mkdir()
    (outside / "keep.mp4").write_bytes(b"keep me")
    assert files.delete_prefix(str(job_id)) == (0, 0)
    (files.root / str(job_id)).symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeMediaPath):
        files.delete_prefix(str(job_id))
    assert (outside / "keep.mp4").read_bytes() == b"keep me"


def _media(job_id: uuid.UUID) -> list[Path]:
    """Four real files in the job's media directory: 1000 + 2000 + 3000 + 4000 bytes."""
    layout, files = runtime().media, runtime().files
    paths = [Path(files.locate(name.as_posix())) for name in (
        layout.image(job_id, 0, 1), layout.clip(job_id, 0, 1),
        layout.narration(job_id, "intro"), layout.final(job_id))]
    for n, path in enumerate(paths, start=1):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000 * n)
    return paths


def _job_dir(job_id: uuid.UUID) -> Path:
    return Path(runtime().files.locate(str(job_id)))


def test_remove_media_leaves_a_job_that_came_back_to_life() -> None:
    """A job listed for cleanup but rerun before its turn keeps its files."""
    store = runtime().store
    job_id = _finished(store, new_job(), "delivered", 4 * DAY)
    files = _media(job_id)
    assert job_id in {j.id for j in jobs_to_clean(store, utcnow(), CLEANUP_AFTER)}
    store.update_job(job_id, status="running")
    outcome = remove_job_media.fn(job_id, 72)
    assert (outcome.removed, outcome.files, outcome.status) == (False, 0, "running")
    assert all(p.is_file() for p in files)
    assert store.job(job_id).media_removed_at is None


# The flow, under the session's Prefect server ---------------------------------------------


def test_cleanup_flow_removes_old_media_only_and_once(prefect_server: str) -> None:
    """Old finished jobs lose their media (rows kept); unfinished and recent jobs keep theirs."""
    store = runtime().store
    old = _finished(store, new_job(), "delivered", 4 * DAY)
    old_files = _media(old)
    no_media = _finished(store, new_job(), "failed", 5 * DAY)
    kept = {
        "waiting": _unfinished(store, new_job(), "waiting", 10 * DAY),
        "running": _unfinished(store, new_job(), "running", 10 * DAY),
        "queued": _unfinished(store, new_job(), "queued", 10 * DAY),
        "recent": _finished(store, new_job(), "delivered", timedelta(hours=2)),
    }
    kept_files = {name: _media(job_id) for name, job_id in kept.items()}

    state = cleanup_media(return_state=True)
    assert state.result() == {
        "jobs_cleaned": 2, "files_removed": 4, "bytes_removed": 10_000, "jobs_expired": 0,
        "photos_removed": 0,
    }
    assert not any(p.exists() for p in old_files) and not _job_dir(old).exists()
    job = store.job(old)
    assert (job.status, job.media_removed_bytes) == ("delivered", 10_000)
    assert job.media_removed_at is not None
    assert store.job(no_media).media_removed_bytes == 0
    for name, paths in kept_files.items():
        assert all(p.is_file() for p in paths), f"the {name} job keeps its media"
        assert store.job(kept[name]).media_removed_at is None

    run_id = str(state.state_details.flow_run_id)
    with api_client() as client:
        # The REST filter itself: the 3.8 client's read_artifacts sends nulls the server refuses.
        artifacts = client.request("POST", "/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [run_id]}, "key": {"any_": ["cleanup-report"]}},
            "limit": 1, "offset": 0, "sort": "CREATED_DESC",
        }).json()
    assert str(old)[:8] in artifacts[0]["data"] and human_size(10_000) in artifacts[0]["data"]

    removed_at = job.media_removed_at
    assert cleanup_media() == {
        "jobs_cleaned": 0, "files_removed": 0, "bytes_removed": 0, "jobs_expired": 0,
        "photos_removed": 0,
    }, "a second run removes nothing more"
    assert store.job(old).media_removed_at == removed_at


def test_cleanup_flow_expires_old_gates_and_keeps_their_media_for_later(
    prefect_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job at a gate past the timeout is expired, its suspended run cancelled, the person
    told; its media stay until a later cleanup finds it old enough."""
    store = runtime().store
    stale = new_job()
    _gate(store, stale, timedelta(hours=49))
    stale_files = _media(stale)
    with api_client() as client:
        run = client.create_flow_run(make_video, parameters={"job_id": str(stale)})
        client.set_flow_run_state(run.id, Suspended(timeout_seconds=48 * 3600), force=True)
    store.update_job(stale, flow_run_id=run.id)
    lost_run = new_job()  # its flow run no longer exists on the server
    _gate(store, lost_run, 3 * DAY)
    store.update_job(lost_run, flow_run_id=uuid.uuid4())
    fresh = new_job()
    _gate(store, fresh, timedelta(hours=1))
    cancelled_run = new_job()  # its run was cancelled in Prefect while it waited
    _gate(store, cancelled_run, 3 * DAY)
    with api_client() as client:
        other = client.create_flow_run(make_video, parameters={"job_id": str(cancelled_run)})
        client.set_flow_run_state(other.id, Cancelled(), force=True)
    store.update_job(cancelled_run, flow_run_id=other.id)
    half_done = new_job()  # an earlier try cancelled its run for the expiry, then failed
    _gate(store, half_done, 3 * DAY)
    with api_client() as client:
        third = client.create_flow_run(make_video, parameters={"job_id": str(half_done)})
        client.set_flow_run_state(third.id, Cancelled(message=expiry_reason(GATE_TIMEOUT)),
                                  force=True)
    store.update_job(half_done, flow_run_id=third.id)

    result = cleanup_media()
    assert (result["jobs_expired"], result["jobs_cleaned"]) == (3, 0)
    assert store.job(cancelled_run).status == "cancelled", "it ends as its run did"
    assert store.job(half_done).status == "expired", "its own cancel is not a person's"
    job = store.job(stale)
    assert (job.status, job.error) == ("expired", "no decision arrived within 48 hours")
    assert store.job(lost_run).status == "expired"
    assert store.job(fresh).status == JobStatus.WAITING
    assert store.decision(stale, "script", 1) is None, "the gate row is left undecided"
    with api_client() as client:
        assert client.read_flow_run(run.id).state.is_cancelled()
    assert f"[{str(stale)[:8]}] No decision arrived within 48 hours" in capsys.readouterr().out
    assert all(p.is_file() for p in stale_files), "expiry does not delete media"

    store.update_job(stale, finished_at=utcnow() - 4 * DAY)
    later = cleanup_media()
    assert (later["jobs_cleaned"], later["jobs_expired"]) == (1, 0)
    assert not _job_dir(stale).exists()


def test_cleanup_flow_rejects_a_non_positive_age(prefect_server: str) -> None:
    """older_than_hours must be positive: 0 would delete the media of every finished job."""
    with pytest.raises(ParameterTypeError, match="greater than 0"):
        cleanup_media(older_than_hours=0)
