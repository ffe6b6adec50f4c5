"""A process told to stop (Prefect's termination signal, `stop_waiting`) waits for nothing:
provider sleeps end, no new call starts, ffmpeg is killed. Each test runs in a process of its
own, since the stop is for the whole process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.serving import REPO


def _run(script: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def test_once_the_process_is_stopping_waits_end_and_no_call_starts() -> None:
    """A provider's sleep ends at once, and later sleeps and new calls raise instead of
    starting."""
    assert _run("""
        import threading, time
        from videobot.stopping import (
            ProcessStopping, ensure_not_stopping, stop_waiting, stoppable_sleep)
        ensure_not_stopping()
        stoppable_sleep(0.01)
        threading.Timer(0.1, stop_waiting).start()
        started = time.monotonic()
        try:
            stoppable_sleep(600)
        except ProcessStopping:
            print("woke", time.monotonic() - started < 60)
        for step in (lambda: stoppable_sleep(0), ensure_not_stopping):
            try:
                step()
            except ProcessStopping:
                print("refused")
    """) == ["woke", "True", "refused", "refused"]


def test_an_ffmpeg_run_is_killed_when_its_process_stops() -> None:
    """An ffmpeg run of ten minutes (a source read at its own pace) ends at once with
    ProcessStopping, and ffmpeg is gone: killed and reaped, not left to run on."""
    assert _run("""
        import os, threading, time
        from videobot.media.ffmpeg import run_ffmpeg
        from videobot.stopping import ProcessStopping, stop_waiting
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=5",
                    "-f", "null", "-"], what="a short run")
        print("ran")
        threading.Timer(1.0, stop_waiting).start()
        started = time.monotonic()
        try:
            run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc=duration=600:size=64x64:rate=5",
                        "-f", "null", "-"], what="a long run")
        except ProcessStopping:
            print("stopped", time.monotonic() - started < 60)
        try:
            os.waitpid(-1, os.WNOHANG)
            print("a-child-is-left")
        except ChildProcessError:
            print("no-child")
    """) == ["ran", "stopped", "True", "no-child"]
