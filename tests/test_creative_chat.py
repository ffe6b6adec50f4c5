"""The chat side of creative control, with the bot's Application fed real updates in process:
a person's photo is the reference of their next job only, the clip model chosen in /settings
reaches their next job, and a redo round sends only what it made again."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image
from telegram.ext import Application

from tests.bot_in_process import deliver, running_bot
from tests.fakes.telegram_server import FakeTelegram
from videobot.db.bot_records import BotRecords
from videobot.db.engine import Database
from videobot.db.models import VideoJob
from videobot.db.store import JobStore
from videobot.formats import VideoFormat
from videobot.providers.base import ScriptRequest
from videobot.providers.offline.script_writer import OfflineScriptWriter
from videobot.settings import Settings
from videobot.telegram import BotApi, TelegramChannel

ANNA, BORIS = 8101, 8102


def _jpeg(colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def _jobs_of(app: Application, user: int) -> list[VideoJob]:
    records: BotRecords = app.bot_data["services"].records
    return sorted(records.jobs_of(f"tg:{user}"), key=lambda j: j.created_at)


def _finish(app: Application, job: VideoJob, runs: list[Any]) -> None:
    """End a job, so its person may start another; keep its run to delete."""
    runs.append(job.flow_run_id)
    app.bot_data["services"].store.update_job(job.id, status="delivered")


async def test_a_photo_is_the_reference_of_the_persons_next_job_and_no_one_elses(
    registered_runs: list[Any], tmp_path: Path
) -> None:
    """Anna's photo without a caption waits for her next prompt: Boris's job made meanwhile has
    no reference, Anna's next job has a copy of it in its own folder, and her job after that
    has none. A captioned photo starts a job with the caption as its prompt."""
    photo = _jpeg()
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            tg.send_photo(ANNA, photo)
            await deliver(app, tg)
            kept = tg.chat_messages(ANNA)[-1].text
            assert "your next video is drawn after it" in kept
            hours = app.bot_data["services"].settings.file_cleanup_hours
            assert kept.endswith(f"I keep the photo for {hours} h.")
            tg.write(BORIS, "How bridges stand")
            tg.write(ANNA, "How tides work")
            await deliver(app, tg)
            (boris,) = _jobs_of(app, BORIS)
            (anna,) = _jobs_of(app, ANNA)
            _finish(app, boris, registered_runs)
            _finish(app, anna, registered_runs)
            tg.write(ANNA, "How kites fly")
            await deliver(app, tg)
            later = _jobs_of(app, ANNA)[-1]
            _finish(app, later, registered_runs)
            tg.send_photo(ANNA, _jpeg((10, 90, 200)), caption="How coral grows")
            await deliver(app, tg)
            captioned = _jobs_of(app, ANNA)[-1]
            _finish(app, captioned, registered_runs)
            files = app.bot_data["services"].files
    assert boris.reference_path is None and later.reference_path is None
    kept = Path(files.locate(anna.reference_path or ""))
    assert kept.parent.name == str(anna.id) and kept.read_bytes() == photo
    assert captioned.prompt == "How coral grows"
    assert files.exists(captioned.reference_path or "")
    assert not files.keys("people"), "a photo taken by a job is no longer kept for the next"
    assert all(run is not None for run in registered_runs), "each job was handed to Prefect"


async def test_a_photo_is_checked_at_the_door(tmp_path: Path) -> None:
    """Over Telegram's 20 MB download limit: refused before it is fetched; bytes that are not
    a picture: refused and not kept; a GIF file: not a photo the providers take."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            tg.send_photo(ANNA, _jpeg(), file_size=21 * 1024 * 1024)
            tg.send_photo(ANNA, b"not a picture at all")
            tg.send_document(ANNA, b"GIF89a" + bytes(64), "image/gif")
            await deliver(app, tg)
            person = app.bot_data["services"].records.person(f"tg:{ANNA}")
        texts = [m.text for m in tg.chat_messages(ANNA)]
        downloads = [c for c in tg.calls_to("getFile")]
    assert texts == ["The photo is over 20 MB. Please send a smaller one.",
                     "I could not read that picture. Please send a JPEG, PNG or WebP photo.",
                     "I can use text or a photo. Send me a sentence."]
    assert len(downloads) == 1 and person is not None and person.reference_path is None
    assert not list((tmp_path / "data").rglob("photo-*"))


async def test_the_clip_model_chosen_in_settings_reaches_the_next_job(
    registered_runs: list[Any], tmp_path: Path
) -> None:
    """With Runway animating, /settings offers its clip models with a clip's price; the one
    chosen is the model of the person's next job."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path, video_provider="runway",
                        runwayml_api_secret="key_test") as app:
            tg.write(ANNA, "/settings")
            await deliver(app, tg)
            menu = tg.chat_messages(ANNA)[-1]
            assert "Clips: gen4_turbo · $0.25" in menu.text
            tg.press(ANNA, menu, menu.button("veo3.1_fast"))
            await deliver(app, tg)
            assert "Clips: veo3.1_fast · $0.60" in tg.chat_messages(ANNA)[-1].text
            tg.write(ANNA, "How tides work")
            await deliver(app, tg)
            (job,) = _jobs_of(app, ANNA)
            _finish(app, job, registered_runs)
    assert job.motion_model == "veo3.1_fast"


def test_a_redo_round_sends_only_the_redone_scenes(tmp_path: Path) -> None:
    """Round 1 sends the ten pictures and the sheet; the redo of scenes 3 and 5 sends those two
    and a new sheet, and the gate message says which were made again, with round 2's
    buttons; a redo of one scene sends one picture."""
    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    db.migrate()
    store = JobStore(db)
    job = store.create_job(user_id="tg:90", prompt="Tides", language="en", fmt="16:9",
                           chat_id="90")
    writer = OfflineScriptWriter()
    script, _ = writer.write_script(ScriptRequest("Tides", "en"))
    store.save_plan(job.id, writer.plan_segments(script, "en")[0])

    def picture(scene: int, round_: int) -> None:
        path = tmp_path / f"scene-{scene + 1:02d}-r{round_}.png"
        Image.new("RGB", VideoFormat.LANDSCAPE.size, (scene * 20, 90, 120)).save(path)
        store.record_image(job.id, scene, path, round_)

    sheet = tmp_path / "sheet.jpg"
    Image.new("RGB", (640, 360)).save(sheet)
    with FakeTelegram() as tg:
        settings = Settings(_env_file=None, telegram_edit_seconds=0)  # type: ignore[call-arg]
        channel = TelegramChannel(settings, store, BotRecords(db), BotApi(tg.url, tg.token))
        rounds = []
        for attempt, scenes in ((1, range(10)), (2, (2, 4)), (3, (6,))):
            for scene in scenes:
                picture(scene, attempt)
            before = len(tg.calls)
            channel.show_media(store.job(job.id), "images", store.segments(job.id), sheet,
                               attempt, None)
            rounds.append(tg.calls[before:])
        gates = [m for m in tg.chat_messages(90) if m.reply_markup]
    media = [[(c.method, len(c.files)) for c in calls if c.files] for calls in rounds]
    assert media[0] == [("sendMediaGroup", 10), ("sendPhoto", 1)]
    assert media[1] == [("sendMediaGroup", 2), ("sendPhoto", 1)]
    assert media[2] == [("sendPhoto", 1), ("sendPhoto", 1)]
    assert "Made again: scene(s) 3, 5." in gates[1].text
    assert ":i:2:" in gates[1].button("Approve all")
    db.dispose()
