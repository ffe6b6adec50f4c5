"""Processes found by a mark in their environment, and killed all at once as a dead machine's.

A process tree read through /proc (`/proc/<pid>/task/<tid>/children`) is reliable only while
its processes are stopped (proc(5)): a child exiting as the list is read can hide a sibling
that still runs, and Prefect's worker starts each flow-run process in a session of its own,
so neither the tree nor a process group holds all of a machine. What every process of one
holds is the environment it inherits: the tests give each machine a variable of its own
(its scratch or data folder) and find its processes by it.
"""

from __future__ import annotations

import os
import signal
from contextlib import suppress
from pathlib import Path

from tests.helpers import wait_for


def _entry(key: str, value: str) -> bytes:
    return f"\0{key}={value}\0".encode()


def carries(pid: int, key: str, value: str) -> bool:
    """The process has `key=value` in its environment (False once it is gone or a zombie:
    a zombie's environment reads empty)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return _entry(key, value) in b"\0" + environ


def marked(key: str, value: str) -> set[int]:
    """Every live process with `key=value` in its environment."""
    return {int(p.name) for p in Path("/proc").iterdir()
            if p.name.isdigit() and carries(int(p.name), key, value)}


def kill_marked(key: str, value: str, timeout: float = 30) -> set[int]:
    """SIGKILL every process marked `key=value`, as a machine that dies: each is stopped as it
    is found (a stopped process starts and ends none), the listing is read again until it
    finds no other, then all are killed. Returns the killed pids once none of them runs,
    their sockets closed."""
    stopped: set[int] = set()
    while found := marked(key, value) - stopped:
        for pid in found:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        stopped |= found
    for pid in stopped:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not marked(key, value), timeout=timeout,
             what=f"every process with {key}={value} to die")
    return stopped
