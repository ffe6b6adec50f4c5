"""Where media live, behind one interface: a local folder (the default) or any S3-compatible
bucket (`MEDIA_STORE=s3://bucket/prefix`).

Media are named by keys, relative POSIX paths that `MediaLayout` builds from the job id and
numbers (`<job>/clips/scene-01-r1.mp4`); the database keeps keys, never host paths. Rows
written before keys hold absolute local paths: every store still reads, and deletes, those
files where this machine has them. ffmpeg never works on the store itself: steps take local
copies into a scratch folder (`videobot.media.scratch`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from videobot.settings import ConfigurationError, Settings


class MediaStoreError(RuntimeError):
    """The store could not be reached or refused an operation; the message names the store
    and the reason, never a credential."""


class UnsafeMediaPath(ValueError):
    """A key or folder to write or delete that would lead outside the store."""


class MediaStore(Protocol):
    """What steps need of a place for media. `put` is atomic: a reader sees the whole object
    or none, so an object that exists is one that was written completely."""

    where: str  # the folder or s3://bucket/prefix, for logs and one-line errors

    def exists(self, key: str) -> bool: ...

    def put(self, key: str, source: Path) -> None: ...

    def get(self, key: str, dest: Path) -> Path:
        """A local copy of `key` at `dest`; raises FileNotFoundError when there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key` if it exists."""
        ...

    def delete_prefix(self, prefix: str) -> tuple[int, int]:
        """Remove every object under `prefix/`; returns (objects, bytes) removed."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """The keys under `prefix/`, sorted."""
        ...

    def locate(self, key: str) -> str:
        """Where a person can find `key`: a file path, or an s3:// URL."""
        ...

    def check(self) -> None:
        """Raise MediaStoreError when the store cannot be used from this machine."""
        ...


def legacy_file(ref: str) -> Path | None:
    """The local file an older row names by its absolute path; None for a key."""
    return Path(ref) if os.path.isabs(ref) else None


def clean_key(key: str) -> str:
    """`key` checked to stay inside the store: relative, no `..`, no empty parts."""
    parts = key.split("/")
    if any(part in ("..", ".", "") for part in parts):  # also a leading slash, or ""
        raise UnsafeMediaPath(f"not a media key: {key!r}")
    return key


class LocalFolderStore:
    """Media as files under one folder: the default, and one machine's whole story."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()
        self.where = str(self.root)

    def path(self, key: str) -> Path:
        """The file for `key` (an older row's absolute path is its own file)."""
        return legacy_file(key) or self.root / clean_key(key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put(self, key: str, source: Path) -> None:
        target = self.root / clean_key(key)  # written only under the root, by key
        self._refuse_links(target.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix,
                                    dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(source, name)
            os.chmod(name, 0o644)  # mkstemp makes 0600; media are read by other processes
            os.replace(name, target)
        finally:
            Path(name).unlink(missing_ok=True)

    def get(self, key: str, dest: Path) -> Path:
        source = self.path(key)
        if not source.is_file():
            raise FileNotFoundError(f"no media at {key}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        return dest

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> tuple[int, int]:
        folder = self.root / clean_key(prefix)
        self._refuse_links(folder)
        if folder.exists() and not folder.is_dir():
            raise UnsafeMediaPath(f"refusing to delete {folder}: not a directory")
        return remove_tree(folder)

    def keys(self, prefix: str) -> list[str]:
        folder = self.root / clean_key(prefix)
        if not folder.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def locate(self, key: str) -> str:
        return str(self.path(key))

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".check-"):
                pass
        except OSError as exc:
            raise MediaStoreError(f"cannot write to the media folder {self.root}: "
                                  f"{exc.strerror or exc}") from None

    def _refuse_links(self, folder: Path) -> None:
        """Every folder between the root and `folder` is a real one: a symlink could lead a
        write or a delete anywhere."""
        here = folder
        while here != self.root and self.root in here.parents:
            if here.is_symlink():
                raise UnsafeMediaPath(f"refusing {folder}: {here} is a symbolic link")
            here = here.parent


def remove_tree(path: Path) -> tuple[int, int]:
    """Delete `path` and everything under it; returns (files, bytes) removed.

    File by file, so the counts are exactly what went, and a retry after a partial failure
    finishes the job. Symlinks inside are removed, never followed. A missing path is (0, 0).
    """
    files = size = 0
    if not path.exists():
        return 0, 0
    for dirpath, dirnames, filenames in os.walk(path, topdown=False, followlinks=False):
        here = Path(dirpath)
        for name in filenames:
            entry = here / name
            try:
                entry_size = entry.lstat().st_size
                entry.unlink()
            except FileNotFoundError:
                continue
            files, size = files + 1, size + entry_size
        for name in dirnames:
            entry = here / name
            if entry.is_symlink():
                entry.unlink(missing_ok=True)
                files += 1
            elif entry.exists():
                entry.rmdir()
    path.rmdir()
    return files, size


def parse_bucket_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` as ("bucket", "some/prefix")."""
    if not url.startswith("s3://"):
        raise ConfigurationError(
            f"MEDIA_STORE must be s3://bucket/prefix (or unset for the local folder), not {url!r}"
        )
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise ConfigurationError("MEDIA_STORE names no bucket: s3://bucket/prefix")
    return bucket, prefix.strip("/")


def open_media_store(settings: Settings) -> MediaStore:
    """The store the settings name: MEDIA_STORE's bucket, else the local MEDIA_ROOT folder."""
    if not settings.media_store:
        return LocalFolderStore(settings.media_dir)
    from videobot.media.bucket_store import BucketStore

    bucket, prefix = parse_bucket_url(settings.media_store)
    return BucketStore.from_environment(bucket, prefix, settings.media_store_endpoint_url)
