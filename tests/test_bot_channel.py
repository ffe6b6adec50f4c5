"""The flow's side of Telegram: the Bot API client waits out flood control and keeps the token
out of errors; a video over the upload limit is re-encoded to fit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.serving import free_port
from videobot.media import probe, run_ffmpeg
from videobot.media.upload_size import fit_to_size
from videobot.naming import short_id
from videobot.telegram import BotApi, TelegramError


def test_flood_control_is_waited_out_not_dropped() -> None:
    """A 429 with retry_after: the client waits that long and sends again, once."""
    with FakeTelegram() as tg:
        api = BotApi(tg.url, tg.token)
        tg.flood("sendMessage", 1)
        started = time.monotonic()
        sent = api.call("sendMessage", chat_id=5, text="hello")
        assert time.monotonic() - started >= 1.0
        assert [m.text for m in tg.chat_messages(5)] == ["hello"]
        assert sent["message_id"] == tg.chat_messages(5)[0].message_id
        assert len(tg.calls_to("sendMessage")) == 2


def test_errors_never_carry_the_token() -> None:
    """A refused call and an unreachable server both raise without the token in the message."""
    with FakeTelegram() as tg:
        api = BotApi(tg.url, tg.token)
        with pytest.raises(TelegramError) as refused:
            api.call("editMessageText", chat_id=5, message_id=999, text="x")
        assert "message to edit not found" in str(refused.value)
        assert tg.token not in str(refused.value)
    down = BotApi(f"http://127.0.0.1:{free_port()}", "7000001:AAsecret-token")
    with pytest.raises(TelegramError) as unreachable:
        down.call("getMe")
    assert "AAsecret-token" not in str(unreachable.value)


def test_uploads_go_as_multipart(tmp_path: Path) -> None:
    """An album is uploaded as multipart with attach:// references."""
    pictures = []
    for n in range(2):
        picture = tmp_path / f"p{n}.png"
        run_ffmpeg(
            ["-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1", str(picture)],
            what="a test picture",
        )
        pictures.append(picture)
    with FakeTelegram() as tg:
        api = BotApi(tg.url, tg.token)
        files = {f"scene{n + 1}": path for n, path in enumerate(pictures)}
        media = [{"type": "photo", "media": f"attach://{name}"} for name in files]
        sent = api.call("sendMediaGroup", files=files, chat_id=6, media=media)
        assert len(sent) == 2
        assert [m.file.data for m in tg.chat_messages(6)] == [p.read_bytes() for p in pictures]


def test_a_video_over_the_limit_is_re_encoded_to_fit(tmp_path: Path) -> None:
    """Above the limit: a re-encode under it, same length; under it: the file itself."""
    video = tmp_path / "big.mp4"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=640x360:d=6",
            "-f",
            "lavfi",
            "-i",
            "sine=d=6",
            "-c:v",
            "libx264",
            "-b:v",
            "3M",
            "-c:a",
            "aac",
            "-shortest",
            str(video),
        ],
        what="a test video",
    )
    limit = video.stat().st_size // 4
    fitted = fit_to_size(video, tmp_path / "fitted.mp4", limit)
    assert fitted != video and fitted.stat().st_size <= limit
    assert abs(probe(fitted).duration - probe(video).duration) < 0.2
    assert fit_to_size(video, tmp_path / "unused.mp4", video.stat().st_size) == video


def test_a_failed_job_is_told_in_the_chat_with_its_reason(tmp_path: Path) -> None:
    """fail() tells the failure in the person's language, without the provider's text, and
    brings the status message up to date with the failure."""
    from videobot.db.bot_records import BotRecords
    from videobot.db.engine import Database
    from videobot.db.store import JobStore
    from videobot.settings import Settings
    from videobot.telegram import TelegramChannel

    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    db.migrate()
    store = JobStore(db)
    job = store.create_job(user_id="tg:77", prompt="Tides", language="en", fmt="16:9",
                           chat_id="77")
    store.update_job(job.id, status="failed", error="Runway refused scene 3")
    with FakeTelegram() as tg:
        settings = Settings(_env_file=None, telegram_edit_seconds=0)  # type: ignore[call-arg]
        channel = TelegramChannel(settings, store, BotRecords(db), BotApi(tg.url, tg.token))
        channel.fail(store.job(job.id), "Runway refused scene 3")
        texts = [m.text for m in tg.chat_messages(77)]
    assert texts[0].startswith(f"Sorry, video {short_id(job.id)} stopped at this step:")
    assert "Runway refused scene 3" not in " ".join(texts)
    assert len(texts) == 2, "the reason, and the job's status message"
    assert tg.token not in " ".join(texts)


def test_an_expired_job_is_told_in_a_new_message_in_the_persons_language(
    tmp_path: Path,
) -> None:
    """expired() sends a message (a notification; an edited status message is silent) in the
    person's language, with the timeout, and shows the job as expired in its status message."""
    from videobot.db.bot_records import BotRecords
    from videobot.db.engine import Database
    from videobot.db.store import JobStore
    from videobot.settings import Settings
    from videobot.telegram import TelegramChannel

    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    db.migrate()
    store, records = JobStore(db), BotRecords(db)
    records.note_person("tg:78", telegram_language="ru")
    job = store.create_job(user_id="tg:78", prompt="Приливы", language="ru", fmt="16:9",
                           chat_id="78")
    store.update_job(job.id, status="expired")
    with FakeTelegram() as tg:
        settings = Settings(_env_file=None, telegram_edit_seconds=0)  # type: ignore[call-arg]
        channel = TelegramChannel(settings, store, records, BotApi(tg.url, tg.token))
        channel.expired(store.job(job.id), 48.0)
        texts = [m.text for m in tg.chat_messages(78)]
    assert texts[0] == ("Вы не ответили за 48 ч, и время ожидания истекло. "
                        "Пришлите идею ещё раз, чтобы начать заново.")
    assert texts[1].splitlines()[1] == "⌛ Время вышло: решение не пришло"
