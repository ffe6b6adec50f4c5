"""The `videobot` command: bad input gets one line and exit code 2; gates answered in a shell."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli.commands import main
from tasks.runtime import runtime
from tests.helpers import new_job, paused_at, wait_for
from videobot.db.models import Approval, VideoJob

REPO = Path(__file__).resolve().parents[1]


def _rows() -> tuple[int, int]:
    with runtime().store.db.session() as s:
        return (s.scalar(select(func.count()).select_from(VideoJob)) or 0,
                s.scalar(select(func.count()).select_from(Approval)) or 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["make", ""], "the prompt is empty"),
        (["make", "   \n "], "the prompt is empty"),
        (["make", "x" * 2001], "the limit is 2000"),
        (["make", "Volcanoes", "--format", "4:3"], "unknown format '4:3'"),
        (["make", "Volcanoes", "--language", "klingon"], "unknown language 'klingon'"),
        (["status", "12345678-dead-beef-0000-000000000000"], "no job with id"),
        (["status", "nope"], "no job with id"),
        (["approve", "0123456789", "--stage", "images"], "no job with id"),
        (["approve", "0123456789", "--stage", "script", "--feedback", "f" * 1001],
         "the feedback is 1001 characters; the limit is 1000"),
        (["approve", "0123456789", "--stage", "script", "--edit", "main", "--text", "w" * 2001],
         "the new text is 2001 characters; the limit is 2000"),
        (["approve", "0123456789", "--stage", "script", "--text", "Hello"],
         "--text is the new text of an --edit; give --edit too"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each mistake gets a one-line error, exit code 2, and no new rows."""
    before = _rows()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert _rows() == before


def test_decision_for_a_stage_that_is_not_waiting(capsys: pytest.CaptureFixture[str]) -> None:
    """Approving a job that waits nowhere (or elsewhere) is refused with exit code 2."""
    job_id = new_job()
    before = _rows()
    assert main(["approve", str(job_id), "--stage", "clips"]) == 2
    assert "not waiting at the clips gate" in capsys.readouterr().err
    runtime().store.open_gate(job_id, "images", 1)
    assert main(["approve", str(job_id)[:8], "--stage", "script"]) == 2
    assert "it is at the images gate" in capsys.readouterr().err
    assert main(["approve", str(job_id), "--stage", "images", "--redo", "0,12"]) == 2
    assert "scene numbers run from 1 to 10" in capsys.readouterr().err
    assert main(["approve", str(job_id), "--stage", "images", "--edit", "3"]) == 2
    assert _rows() == (before[0], before[1] + 1)  # only the gate this test opened
    runtime().store.update_job(job_id, status="expired")  # its images gate stays undecided
    assert main(["approve", str(job_id), "--stage", "images"]) == 2
    assert f"job {str(job_id)[:8]} has ended (expired)" in capsys.readouterr().err
    assert runtime().store.waiting_gate(job_id).decision is None


def test_status_prints_stage_scenes_and_cost(capsys: pytest.CaptureFixture[str]) -> None:
    """`videobot status` shows the job's stage and cost."""
    job_id = new_job("Status check")
    assert main(["status", str(job_id)[:8]]) == 0
    out = capsys.readouterr().out
    assert str(job_id) in out and "stage intake" in out and "cost     $0.0000" in out


def test_make_answers_gates_in_the_terminal_and_from_another_shell(
    prefect_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`videobot make` asks at each gate; `videobot approve` from another shell also works;
    `videobot status` links the run's page."""
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "VIDEOBOT_NO_PROMPT": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "make", "How glaciers move", "--format", "1:1"],
        cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        job_line = wait_for(lambda: next((x for x in lines if x.startswith("Job ")), None),
                            what="the job line")
        job_id = runtime().store.find_job(job_line.split()[1]).id
        wait_for(paused_at(job_id, "script", 1), what="the script gate")
        wait_for(lambda: any("script gate:" in x for x in lines), what="the script prompt")
        proc.stdin.write("maybe\n")
        proc.stdin.write("a\n")
        proc.stdin.flush()
        wait_for(paused_at(job_id, "images", 1), what="the images gate")
        assert main(["approve", str(job_id)[:8], "--stage", "images", "--redo", "3"]) == 0
        wait_for(paused_at(job_id, "images", 2), what="the images gate, round 2")
        proc.stdin.write("a\n")
        proc.stdin.flush()
        wait_for(paused_at(job_id, "clips", 1), what="the clips gate")
        proc.stdin.write("a\n")
        proc.stdin.close()
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
    output = "".join(lines)
    assert "'maybe' is not a choice here" in output
    assert "contact sheet:" in output
    assert ("Approving starts the clips: 10 scenes with ffmpeg-motion (5 s each), estimated "
            "$0.00.") in output
    assert "Video: " in output and f"video-{str(job_id)[:8]}" in output
    store = runtime().store
    assert store.call_counts(job_id)["images"] == 11
    assert store.job(job_id).status == "delivered"
    capsys.readouterr()
    assert main(["status", str(job_id)[:8]]) == 0
    page = f"{prefect_server.removesuffix('/api')}/runs/flow-run/{store.job(job_id).flow_run_id}"
    status = capsys.readouterr().out
    assert f"run page {page}\n" in status
    final = runtime().files.locate(store.job(job_id).final_path or "")
    assert f"video    {final}\n" in status and Path(final).is_file()


def test_make_without_a_prefect_api_runs_on_a_local_server_of_its_own(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> None:
    """The README's first command: no API configured, so `make` starts one local server, runs
    the flow on it (Prefect's own temporary server would start if the flow's thread lost the
    API: it is forbidden here), sends the run's last logs before the server stops, and leaves
    the run in Prefect's database for the UI to show later."""
    database = tmp_path / "prefect.db"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")},
           "PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "false",
           "PREFECT_LOGGING_LEVEL": "INFO", "VIDEO_SCALE": "1",  # as the README's command
           "PREFECT_API_DATABASE_CONNECTION_URL": migrated_prefect_db(database)}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "make", "Why cats purr", "--auto-approve"], cwd=REPO,
        env=env, capture_output=True, text=True, timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Video: " in output
    assert "Error logging to API" not in output and "temporary server" not in output
    job = runtime().store.find_job(output.split("Job ", 1)[1].split()[0])
    with sqlite3.connect(database) as prefect_db:
        runs = prefect_db.execute("SELECT name, state_type FROM flow_run WHERE id = ?",
                                  (str(job.flow_run_id),)).fetchall()
    assert runs == [(f"video-{str(job.id)[:8]}", "COMPLETED")]
    status = subprocess.run([sys.executable, "-m", "cli", "status", str(job.id)[:8]], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    page = f"http://127.0.0.1:4200/runs/flow-run/{job.flow_run_id}"
    assert f"run page {page} (after `prefect server start`)" in status.stdout, status.stderr


@pytest.mark.parametrize(
    ("env", "missing"),
    [({"IMAGE_PROVIDER": "runway"}, "RUNWAYML_API_SECRET"),
     ({"SCRIPT_PROVIDER": "openai"}, "OPENAI_API_KEY")],
)
def test_a_provider_without_its_key_stops_start_up(env: dict[str, str], missing: str) -> None:
    """Choosing a provider without its key stops with a message naming the variable."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OPENAI_API_KEY", "RUNWAYML_API_SECRET", "RUNWAY_API_KEY")}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "make", "Volcanoes"], cwd=REPO,
        env={**clean, **env}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert missing in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_prefect_api_that_is_down_is_one_line_and_exit_2() -> None:
    """With PREFECT_API_URL at a port nothing listens on, `make` says which API it cannot
    reach in one line (no traceback), exits 2, and leaves no job behind."""
    from tests.serving import free_port

    url = f"http://127.0.0.1:{free_port()}/api"
    with runtime().store.db.session() as s:
        jobs_before = s.scalar(select(func.count()).select_from(VideoJob))
    done = subprocess.run(
        [sys.executable, "-m", "cli", "make", "Why cats purr", "--auto-approve"], cwd=REPO,
        env={**os.environ, "PREFECT_API_URL": url}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == f"videobot: cannot reach the Prefect API at {url}"
    with runtime().store.db.session() as s:
        assert s.scalar(select(func.count()).select_from(VideoJob)) == jobs_before
