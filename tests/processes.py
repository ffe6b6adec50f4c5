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


def _environment(pid: int) -> bytes:
    """The process's environment, each entry between NULs (empty once it is gone, and
    already while it exits: see `exited`)."""
    try:
        return b"\0" + Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def carries(pid: int, key: str, value: str) -> bool:
    """The process has `key=value` in its environment (False once it is gone, and already
    while it exits: see `exited`)."""
    return _entry(key, value) in _environment(pid)


def has_variable(pid: int, key: str) -> bool:
    """The process has `key` in its environment, whatever its value."""
    return f"\0{key}=".encode() in _environment(pid)


def marked(key: str, value: str) -> set[int]:
    """Every live process with `key=value` in its environment."""
    return {int(p.name) for p in Path("/proc").iterdir()
            if p.name.isdigit() and carries(int(p.name), key, value)}


def exited(pid: int) -> bool:
    """Every thread of the process has exited, so its files and sockets are closed: it is
    gone, or only its zombie leader is left. Neither its environment (empty from the moment
    its memory is released) nor the leader's state tells that: a killed leader may be a
    zombie while another thread still exits, the sockets they share still open."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return True
    for tid in threads:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue  # that thread is gone
        if stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X"):
            return False
    return True


def kill_marked(key: str, value: str, timeout: float = 30) -> set[int]:
    """SIGKILL every process marked `key=value`, as a machine that dies: each is stopped as it
    is found (a stopped process starts and ends none), the listing is read again until it
    finds no other, then all are killed. Returns the killed pids once every one of them has
    exited, its sockets closed."""
    stopped: set[int] = set()
    while found := marked(key, value) - stopped:
        for pid in found:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        stopped |= found
    for pid in stopped:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: all(map(exited, stopped)) and not marked(key, value), timeout=timeout,
             what=f"every process with {key}={value} to exit")
    return stopped
