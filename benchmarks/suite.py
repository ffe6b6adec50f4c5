"""Where the test suite's time goes: CPU seconds by kind of process, and the longest modules.

Run: .venv/bin/python benchmarks/suite.py [pytest arguments]

Runs the suite as `bin/test` runs it (three pytest-xdist processes, each module whole in one,
no set-up or lint) while sampling every process on the machine from /proc four times a second.
The suite is bound by its two cores, so its wall time follows the CPU it spends: this says
which processes spend it. A process is counted by the most CPU it was seen to have used, so
one that lives under a quarter of a second is missed; every ffmpeg run is counted exactly,
through a wrapper named in IMAGEIO_FFMPEG_EXE that records each run's CPU.

Prints the wall time, the machine's busy CPU seconds (from /proc/stat), the CPU seconds and
number of processes of each kind, ffmpeg's runs, and the modules that spent the most CPU, each
with every process it started (`benchmarks/module_cpu.py`), and their wall time.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import imageio_ffmpeg

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
# The first marker found in a command line names its kind.
KINDS = (
    ("orchestration.prefect_server", "Prefect server"),
    ("prefect server start", "Prefect server"),
    ("deployments.serve", "serving process"),
    ("-m cli worker", "worker"),
    ("-m cli", "videobot command"),
    ("-m bot", "bot"),
    ("prefect.engine", "flow-run process"),
    ("_workspace_supervisor", "flow-run process"),
    ("exec(eval(sys.stdin.readline()))", "test process"),  # a pytest-xdist worker
    ("pytest", "test process"),
    ("moto", "S3 server (moto)"),
    ("postgres", "PostgreSQL"),
)
FFMPEG_WRAPPER = """#!/bin/sh
# Runs ffmpeg and appends its user and system CPU seconds to the log.
exec /usr/bin/time -a -o {log} -f "%U %S" {ffmpeg} "$@"
"""


def kind_of(command: str) -> str:
    for marker, kind in KINDS:
        if marker in command:
            return kind
    return "prefect command" if "prefect" in command else "other"


class Sampler(threading.Thread):
    """The most CPU each process (pid and start time) was seen to have used, and its kind."""

    def __init__(self, skip_ffmpeg: bool) -> None:
        super().__init__(daemon=True)
        self.skip_ffmpeg = skip_ffmpeg
        self.seen: dict[tuple[str, str], tuple[float, str]] = {}
        self.before: dict[tuple[str, str], float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        self._scan()
        # What the processes already running had used before is not the suite's.
        self.before = {key: cpu for key, (cpu, _) in self.seen.items()}
        while not self._done.wait(0.25):
            self._scan()

    def _scan(self) -> None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            self._look(pid)

    def _look(self, pid: str) -> None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            command = raw.replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return
        cpu = (int(fields[11]) + int(fields[12])) / TICKS
        key = (pid, fields[19])
        before = self.seen.get(key, (0.0, ""))
        self.seen[key] = (max(cpu, before[0]), before[1] or command)

    def stop(self) -> dict[str, tuple[float, int]]:
        self._done.set()
        self.join()
        totals: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
        for key, (cpu, command) in self.seen.items():
            spent = cpu - self.before.get(key, 0.0)
            if not command or (self.skip_ffmpeg and "ffmpeg" in command):
                continue  # a kernel thread, or ffmpeg counted by its wrapper
            if key in self.before and spent == 0:
                continue  # running before, idle throughout
            total = totals["ffmpeg" if "ffmpeg" in command else kind_of(command)]
            total[0] += spent
            total[1] += 1
        return {kind: (cpu, int(n)) for kind, (cpu, n) in totals.items()}


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent outside idle and iowait since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS


def costliest_modules(log: Path) -> list[tuple[float, float, str]]:
    """(CPU s, wall s, module), the most CPU first, from benchmarks/module_cpu.py's log."""
    rows = []
    for line in log.read_text().splitlines() if log.exists() else []:
        module, cpu, wall = line.split("\t")
        rows.append((float(cpu), float(wall), Path(module).stem))
    return sorted(rows, reverse=True)


def main(pytest_args: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="suite-bench-") as folder:
        ffmpeg_log, module_log = Path(folder) / "ffmpeg.log", Path(folder) / "modules.log"
        env = {
            **os.environ,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "MODULE_CPU_LOG": str(module_log),
            "PYTHONPATH": str(REPO),  # for `-p benchmarks.module_cpu`, read before pytest's own
        }
        wrapped = Path("/usr/bin/time").exists()  # else ffmpeg is sampled like the rest
        if wrapped:
            wrapper = Path(folder) / "ffmpeg"
            wrapper.write_text(
                FFMPEG_WRAPPER.format(log=ffmpeg_log, ffmpeg=imageio_ffmpeg.get_ffmpeg_exe())
            )
            wrapper.chmod(0o755)
            env["IMAGEIO_FFMPEG_EXE"] = str(wrapper)
        command = [
            str(REPO / ".venv/bin/pytest"),
            "-n",
            os.environ.get("TEST_WORKERS", "3"),
            "--dist",
            "loadfile",
            "--no-loadscope-reorder",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "benchmarks.module_cpu",
            *pytest_args,
        ]
        sampler = Sampler(skip_ffmpeg=wrapped)
        sampler.start()
        busy, started = busy_seconds(), time.monotonic()
        code = subprocess.call(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
        wall, busy = time.monotonic() - started, busy_seconds() - busy
        kinds = sampler.stop()
        if wrapped:
            runs = (
                [line.split() for line in ffmpeg_log.read_text().splitlines() if line[:1].isdigit()]
                if ffmpeg_log.exists()
                else []
            )
            kinds["ffmpeg"] = (sum(float(u) + float(s) for u, s in runs), len(runs))
        print(
            f"pytest exit {code}; wall {wall:.0f} s; machine busy {busy:.0f} CPU s "
            f"({busy / wall:.2f} cores of {os.cpu_count()})"
        )
        for kind, (cpu, n) in sorted(kinds.items(), key=lambda item: -item[1][0]):
            print(f"  {cpu:7.1f} CPU s  {n:5d}  {kind}")
        modules = costliest_modules(module_log)
        print(f"modules: {sum(cpu for cpu, _, _ in modules):.0f} CPU s counted; the costliest "
              "(CPU s with every process they started, wall s):")
        for cpu, seconds, module in modules[:15]:
            print(f"  {cpu:7.1f}  {seconds:6.1f}  {module}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
