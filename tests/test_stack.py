"""`videobot up`: one command runs the server and the deployments; `make` submits to them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from uuid import UUID

import httpx

from tests.helpers import wait_for
from videobot.db.engine import Database
from videobot.db.store import JobStore
from videobot.media import probe

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flow_runs(up: int) -> list[int]:
    """The flow-run processes of `up`'s serving process."""
    def children(pid: int) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        return [int(p) for p in found.stdout.split()]

    found = subprocess.run(["pgrep", "-f", "deployments.serve"], capture_output=True, text=True)
    serving = [int(p) for p in found.stdout.split() if int(p) in children(up)]
    return [child for pid in serving for child in children(pid)]


def test_up_serves_make_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    """While `up` runs, `make` goes through the deployment; Ctrl-C stops every process. A
    Telegram Bot API that cannot be reached stops only the bot, which is started again; the
    server and the deployments stay up and a terminal job is made, through a crash of its
    flow-run process. The video is made at full size, as `videobot up` makes it by default."""
    port = _free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path),
           "VIDEO_SCALE": "1",
           "TELEGRAM_BOT_TOKEN": "123456:unreachable",
           "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{_free_port()}"}
    env.pop("PREFECT_API_URL", None)
    up = subprocess.Popen(
        [sys.executable, "-m", "cli", "up", "--port", str(port)], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(up.stdout.readline, "")))
    reader.start()
    try:
        wait_for(lambda: any("videobot is up" in x for x in lines), timeout=120, what="up")
        wait_for(lambda: any("telegram bot stopped; starting it again" in x for x in lines),
                 timeout=60, what="the bot to fail and be restarted")
        assert (tmp_path / "data" / "stack.json").is_file()
        assert any(f"http://127.0.0.1:{port}" in x for x in lines)
        # The server runs with its writes batched (`cli.stack.WRITE_BATCHES`).
        served = httpx.get(f"http://127.0.0.1:{port}/api/admin/settings").json()
        services = served["server"]["services"]
        assert services["task_run_recorder"]["batch_size"] == 50
        assert services["task_run_recorder"]["flush_interval"] == 1
        assert services["event_persister"]["batch_size"] == 1000
        assert any(f"database: SQLite in {tmp_path}" in x for x in lines)
        # `doctor` finds the stack as `make` does.
        doctor = subprocess.run([sys.executable, "-m", "cli", "doctor"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=120)
        assert f"ok Prefect API: reachable at http://127.0.0.1:{port}/api" in doctor.stdout, (
            doctor.stdout + doctor.stderr)

        # The flow-run process is killed once the job makes its clips: `make`, following the
        # run, says the work carries on, keeps following it, and ends with the video.
        made = subprocess.Popen(
            [sys.executable, "-m", "cli", "make", "Why leaves fall", "--auto-approve"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        out: list[str] = []
        follower = threading.Thread(target=lambda: out.extend(iter(made.stdout.readline, "")))
        follower.start()
        store = JobStore(Database(f"sqlite:///{tmp_path / 'data' / 'videobot.db'}"))
        job_line = wait_for(lambda: next((x for x in out if x.startswith("Job ")), None),
                            timeout=120, what="the job line")
        job_id = UUID(job_line.split()[1])
        flow_runs = wait_for(lambda: store.job(job_id).stage == "clips" and _flow_runs(up.pid),
                             timeout=180, what="the clips to be in progress")
        for pid in flow_runs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert made.wait(300) == 0, "".join(out[-40:])
        follower.join(10)
        stdout = "".join(out)
        assert "Submitted as flow run video-" in stdout  # named from creation
        assert stdout.count("carries on where it was") == 1, stdout
        assert "Prefect flow run: video-" in stdout
        video = next(x for x in out if x.startswith("Video: "))
        made_video = probe(Path(video.removeprefix("Video: ").strip()))
        assert (made_video.width, made_video.height, made_video.video_codec) == (1280, 720, "h264")
        store.db.dispose()

        os.kill(up.pid, signal.SIGINT)
        assert up.wait(60) == 0
    finally:
        if up.poll() is None:  # the test failed before Ctrl-C: leave nothing of it running
            os.killpg(up.pid, signal.SIGKILL)
            subprocess.run(["pkill", "-9", "-f", f"--port {port}"], check=False)
        reader.join(10)
    left = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True)
    assert left.stdout.strip() == "", "the Prefect server stopped"
    assert not (tmp_path / "data" / "stack.json").exists()


def test_up_names_its_database_without_the_password() -> None:
    """`videobot up` announces where the Prefect server keeps its runs; a password in the
    URL is never printed, and SQLite is named in the PREFECT_HOME it is in."""
    from cli.stack import database_shown

    url = "postgresql+asyncpg://prefect:s3cret-pw@db.internal:5432/prefect"
    shown = database_shown({"PREFECT_API_DATABASE_CONNECTION_URL": url})
    assert "s3cret-pw" not in shown and shown.endswith("@db.internal:5432/prefect")
    assert database_shown({"PREFECT_HOME": "/srv/prefect"}) == "SQLite in /srv/prefect"
    assert database_shown({}) == "SQLite in ~/.prefect"
