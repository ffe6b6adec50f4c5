"""Local copies for one step: inputs fetched from the media store, outputs made here and then
stored. Providers and ffmpeg only ever see these files; the store only sees finished ones.

A step's folder is removed when the step ends, and a folder whose process died (a worker
killed mid-step) by the next step on this machine: each step holds a lock on its folder for as
long as it runs, and the kernel lets go of it when the process dies.

An output is made at `<scratch>/out/<key>`, the same place on every attempt, and removed once
it is stored: when the store refuses it (a full disk, a bucket out of reach), the made file
stays for the next attempt on this machine, which stores it instead of paying for it again.
The provider task that made it stays written ahead until then (`StoreKeyedJournal`): a worker
that dies before the store leaves the task to be taken up by the next, on any machine.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Protocol

from videobot.media.store import MediaStore, clean_key, legacy_file


class Scratch:
    """`with Scratch(store, root) as scratch:` one step's local files."""

    def __init__(self, files: MediaStore, root: Path,
                 journal: StoreKeyedJournal | None = None) -> None:
        self.files = files
        self.journal = journal
        self.outputs = Path(root) / "out"
        steps = Path(root) / "steps"
        steps.mkdir(parents=True, exist_ok=True)
        remove_abandoned_steps(steps)
        self.folder = Path(tempfile.mkdtemp(prefix="step-", dir=steps))
        # Locked before it takes its name: a step clearing up at this moment (ten start at
        # once in a mapped stage) finds no marker, or a held one, never a free one.
        marker = self.folder / f"{IN_USE}.new"
        self._in_use = marker.open("w")
        fcntl.flock(self._in_use, fcntl.LOCK_EX | fcntl.LOCK_NB)
        marker.rename(self.folder / IN_USE)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def fetch(self, key: str) -> Path:
        """A local copy of the stored `key` (or of an older row's local file)."""
        local = legacy_file(key)
        name = local.name if local is not None else clean_key(key)
        return self.files.get(key, self.folder / "in" / name)

    def temp(self, name: str) -> Path:
        """A path for an in-between file (a frame, the music bed), gone with the step."""
        path = self.folder / "work" / clean_key(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def output(self, key: str) -> Path:
        """Where the step makes `key`; a file already there was made by an earlier attempt
        whose store failed."""
        path = self.outputs / clean_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def store(self, key: str) -> None:
        """Put the made `key` into the store, then remove it (and its sidecars) from here;
        the provider tasks that made it are crossed off."""
        path = self.output(key)
        self.files.put(key, path)
        if self.journal is not None:
            self.journal.close_kept(key)
        # Empty folders stay: another step of the job may be writing into one right now.
        for sibling in path.parent.glob(f"{path.stem}.*"):  # intro.wav, intro.words.json
            sibling.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self._in_use.close()


IN_USE = ".in-use"


def remove_abandoned_steps(steps: Path) -> None:
    """Remove the step folders no running process holds: what a killed worker left."""
    for folder in steps.glob("step-*"):
        try:
            marker = (folder / IN_USE).open("r")
        except FileNotFoundError:  # being made, or being removed
            continue
        with marker:  # held while the folder goes, so no one else takes it meanwhile
            try:
                fcntl.flock(marker, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its step is running
                continue
            shutil.rmtree(folder, ignore_errors=True)


class StoreKeyedJournal:
    """Provider tasks written ahead under store keys, the same on every machine.

    A provider names the task it starts by the file it writes (`<scratch>/out/<key>`, or
    `...#2` for one part of a narration); on another machine that path differs, so the task
    of a worker that died would never be found. This journal records it under `<key>` instead.
    """

    def __init__(self, journal: OpenTaskJournal, scratch_root: Path) -> None:
        self.journal = journal
        self._prefix = str(Path(scratch_root) / "out") + os.sep

    def key(self, name: str) -> str:
        return name[len(self._prefix):] if name.startswith(self._prefix) else name

    def open_task(self, key: str) -> str | None:
        return self.journal.open_task(self.key(key))

    def record_task(self, key: str, provider: str, task_id: str) -> None:
        self.journal.record_task(self.key(key), provider, task_id)

    def close_task(self, key: str) -> None:
        self.journal.close_task(self.key(key))

    def close_kept(self, stored: str) -> None:
        """Close the records of the tasks that made the stored `stored` (its made file was
        `<scratch>/out/<clean key>`): its own, and those of its parts (`…#2`, a narration
        made in pieces)."""
        key = clean_key(stored)
        for found, _, _ in self.journal.open_tasks(key):
            if found == key or found.startswith(key + "#"):
                self.journal.close_task(found)


class OpenTaskJournal(Protocol):
    """A `TaskJournal` that also lists its open tasks by key prefix (the app database)."""

    def open_task(self, key: str) -> str | None: ...

    def record_task(self, key: str, provider: str, task_id: str) -> None: ...

    def close_task(self, key: str) -> None: ...

    def open_tasks(self, prefix: str) -> list[tuple[str, str, str]]: ...
