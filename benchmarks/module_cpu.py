"""A pytest plugin for benchmarks/suite.py: the CPU each test module spent, counting every
process its test process started (servers, serving processes, flow runs, ffmpeg).

Loaded with `-p benchmarks.module_cpu`; writes one line per module, "module<TAB>CPU
s<TAB>wall s", to the file named in MODULE_CPU_LOG (appended to by every xdist process).

A module's CPU is how much the test process's tree of processes spent from the module's first
test to the next module's: the test process itself, the children it has waited for (Linux
adds a reaped child's CPU, and what that child had reaped, to its parent's), and every
descendant still alive. The session's Prefect server therefore counts for the module that is
running while it works, its start for the first module to use it, its end for the last.
Processes that outlive their parent and are adopted elsewhere, and PostgreSQL's backends, are
not counted.
"""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path

import pytest

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    """The parent pid, and the CPU seconds spent by the process and the children it reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / TICKS


def tree_cpu(root: int) -> float:
    """CPU seconds spent by `root`, its reaped descendants and its live descendants."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    spent: dict[int, float] = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        found = _stat(name)
        if found is not None:
            children[found[0]].append(int(name))
            spent[int(name)] = found[1]
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += spent.get(pid, 0.0)
        todo += children.get(pid, [])
    return total


class ModuleCPU:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.current: tuple[str, float, float] | None = None  # module, CPU, wall at its start

    def _close(self) -> None:
        if self.current is None:
            return
        module, cpu, started = self.current
        line = f"{module}\t{tree_cpu(os.getpid()) - cpu:.1f}\t{time.monotonic() - started:.1f}\n"
        with self.log.open("a") as out:
            out.write(line)
        self.current = None

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        # The previous module's fixtures were torn down in its last test's teardown.
        module = nodeid.split("::", 1)[0]
        if self.current is not None and self.current[0] == module:
            return
        self._close()
        self.current = (module, tree_cpu(os.getpid()), time.monotonic())

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        self._close()


def pytest_configure(config: pytest.Config) -> None:
    log = os.environ.get("MODULE_CPU_LOG")
    # Under pytest-xdist the controlling process also hears each test start, from every worker,
    # and its tree holds theirs: only the processes that run tests count.
    controller = bool(getattr(config.option, "numprocesses", None)) and not hasattr(
        config, "workerinput"
    )
    if log and not controller:
        config.pluginmanager.register(ModuleCPU(Path(log)), "module-cpu")
