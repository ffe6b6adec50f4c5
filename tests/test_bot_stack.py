"""`videobot up` with TELEGRAM_BOT_TOKEN also runs the bot, and Ctrl-C stops it with the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.bot_fixtures import REPO, telegram_env
from tests.fakes.telegram_server import FakeTelegram
from tests.helpers import wait_for
from tests.serving import free_port


def test_up_starts_the_bot_and_stops_it_on_ctrl_c(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> None:
    """The bot polls the (fake) Bot API while `up` runs, answers, and stops on Ctrl-C."""
    port = free_port()
    migrated_prefect_db(tmp_path / "prefect.db")  # PREFECT_HOME's database
    with FakeTelegram() as tg:
        env = {
            **os.environ,
            **telegram_env(tg),
            "DATA_DIR": str(tmp_path / "data"),
            "PREFECT_HOME": str(tmp_path),
        }
        env.pop("PREFECT_API_URL", None)
        up = subprocess.Popen(
            [sys.executable, "-m", "cli", "up", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(up.stdout.readline, "")))
        reader.start()
        try:
            wait_for(lambda: any("videobot is up" in x for x in lines), timeout=150, what="up")
            wait_for(lambda: tg.calls_to("getUpdates"), timeout=60, what="the bot polling")
            tg.write(4001, "/help")
            tg.wait_for_message(4001, lambda m: "/status" in m.text, timeout=30)

            os.kill(up.pid, signal.SIGINT)
            assert up.wait(60) == 0
            polls = len(tg.calls_to("getUpdates"))
            time.sleep(3)
            assert len(tg.calls_to("getUpdates")) == polls, "the bot stopped polling"
        finally:
            if up.poll() is None:
                os.killpg(up.pid, signal.SIGKILL)
            reader.join(10)
    assert tg.token not in "".join(lines)
