"""Write media files atomically, so a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """Yield a temp path next to `out` (same suffix); on success rename it onto `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; media is read by other processes
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
