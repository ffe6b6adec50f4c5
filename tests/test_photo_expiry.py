"""A photo sent for a next video that never came is removed with the old media: taken off its
owner in the database, then deleted from the media store."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from flows.cleanup import cleanup_media
from tasks.runtime import runtime
from videobot.db.bot_records import BotRecords
from videobot.db.maintenance import drop_kept_photos
from videobot.db.models import BotUser, utcnow
from videobot.db.store import JobStore
from videobot.references import pending_photo_key

DAY = timedelta(hours=24)


def _person() -> str:
    return f"photo-{uuid.uuid4().hex[:12]}"


def _kept(records: BotRecords, person: str, ago: timedelta) -> str:
    photo = pending_photo_key(person)
    records.keep_reference(person, photo)
    with records.db.session() as s:
        s.execute(update(BotUser).where(BotUser.user_id == person)
                  .values(reference_kept_at=utcnow() - ago))
    return photo


def test_only_photos_kept_too_long_are_dropped(store: JobStore) -> None:
    """On both databases: a photo kept past the time is taken off its owner; a recent one, a
    replaced one's successor and a taken one are not; a second pass finds nothing."""
    records = BotRecords(store.db)
    old, recent, replaced, taken = (_person() for _ in range(4))
    stale = _kept(records, old, 4 * DAY)
    _kept(records, recent, timedelta(hours=2))
    _kept(records, replaced, 4 * DAY)
    newer = pending_photo_key(replaced)
    assert records.keep_reference(replaced, newer) is not None  # kept again: its time restarts
    _kept(records, taken, 4 * DAY)
    assert records.take_reference(taken) is not None

    assert drop_kept_photos(store, utcnow(), 3 * DAY) == [stale]
    assert records.take_reference(old) is None
    assert records.take_reference(replaced) == newer
    assert records.take_reference(recent) is not None
    assert drop_kept_photos(store, utcnow(), 3 * DAY) == []


def test_the_cleanup_flow_deletes_unused_photos(prefect_server: str, tmp_path: Path) -> None:
    """`cleanup-media` deletes a photo kept four days from the store and keeps a fresh one."""
    rt = runtime()
    records = BotRecords(rt.store.db)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    old, recent = _person(), _person()
    stale, fresh = _kept(records, old, 4 * DAY), _kept(records, recent, timedelta(hours=1))
    rt.files.put(stale, photo)
    rt.files.put(fresh, photo)

    result = cleanup_media(older_than_hours=72)
    assert result["photos_removed"] == 1
    assert not rt.files.exists(stale) and rt.files.exists(fresh)
    assert records.take_reference(old) is None
    assert records.take_reference(recent) == fresh
