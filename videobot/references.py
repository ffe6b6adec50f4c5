"""A person's own photo as the reference of their next job: checked at the door, kept under
names made of ids only, never used for anyone else's job."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from videobot.media.paths import MediaLayout
from videobot.media.store import MediaStore

# Bots download files of at most 20 MB from Telegram; the CLI holds photos to the same limit.
PHOTO_MAX_MB = 20
PHOTO_MAX_BYTES = PHOTO_MAX_MB * 1024 * 1024
# What both image providers take as input images (OpenAI edits: PNG, WebP, JPEG; Runway:
# JPEG, PNG, WebP), by the format Pillow reads in the file, never by its name.
PHOTO_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
PHOTO_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")


class PhotoRefused(ValueError):
    """A photo that cannot be a reference; `code` names why for translated texts."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


def check_photo(path: Path) -> str:
    """The photo's suffix (".jpg", ".png", ".webp") when it is a readable picture of an
    accepted type and size, else PhotoRefused."""
    if path.stat().st_size > PHOTO_MAX_BYTES:
        raise PhotoRefused("photo_too_big", f"the photo is over {PHOTO_MAX_MB} MB")
    try:
        with Image.open(path) as image:
            kind = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PhotoRefused("photo_unreadable", "the file is not a picture we can read") from exc
    if kind not in PHOTO_FORMATS:
        raise PhotoRefused("photo_unreadable", f"a {kind or 'picture'} file: send a JPEG, PNG "
                           "or WebP photo")
    return PHOTO_FORMATS[kind]


def pending_photo_key(person: str) -> str:
    """Where a person's photo waits in the media store for their next job: a folder named by
    a digest of their key, a name made of a fresh id (an earlier photo is replaced by the
    caller)."""
    folder = hashlib.sha256(person.encode()).hexdigest()[:16]
    return f"people/{folder}/photo-{uuid.uuid4().hex}"


def store_reference(files: MediaStore, photo: Path, job_id: uuid.UUID) -> str:
    """The photo (a local file), checked again and stored as the job's reference; its key."""
    target = f"{MediaLayout().job_dir(job_id).as_posix()}/reference{check_photo(photo)}"
    files.put(target, photo)
    return target
