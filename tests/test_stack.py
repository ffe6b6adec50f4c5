"""`videobot up`: one command runs the server and the deployments; `make` submits to them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.helpers import wait_for

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_up_serves_make_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    """While `up` runs, `make` goes through the deployment; Ctrl-C stops every process. A
    Telegram Bot API that cannot be reached stops only the bot, which is started again; the
    server and the deployments stay up and a terminal job is made."""
    port = _free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path),
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

        made = subprocess.run(
            [sys.executable, "-m", "cli", "make", "Why leaves fall", "--auto-approve"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
        )
        assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
        assert "Submitted as flow run video-" in made.stdout  # named from creation
        assert "Prefect flow run: video-" in made.stdout
        video = next(x for x in made.stdout.splitlines() if x.startswith("Video: "))
        assert Path(video.removeprefix("Video: ")).is_file()

        os.kill(up.pid, signal.SIGINT)
        assert up.wait(60) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
        reader.join(10)
    left = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True)
    assert left.stdout.strip() == "", "the Prefect server stopped"
    assert not (tmp_path / "data" / "stack.json").exists()
