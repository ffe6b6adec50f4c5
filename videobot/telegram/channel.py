"""The flow's Telegram channel: gate messages with their buttons, albums, the status message
and the finished video, sent from inside the flow's tasks through the Bot API."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from videobot.chat_texts import (
    CAPTION_LIMIT,
    clip,
    gate_keyboard,
    inline_markup,
    made_in_round,
    media_message,
    script_message,
)
from videobot.costs import clip_stage_estimate
from videobot.db.bot_records import BotRecords
from videobot.db.models import JobStatus, VideoJob, VideoSegment
from videobot.db.store import JobStore
from videobot.failure_notes import admin_failure_text, job_failure_text
from videobot.i18n import tr
from videobot.media import probe
from videobot.media.scratch import Scratch
from videobot.media.store import MediaStore, open_media_store
from videobot.media.upload_size import fit_to_size
from videobot.motion import job_motion
from videobot.naming import short_id
from videobot.script import Script
from videobot.settings import ConfigurationError, Settings
from videobot.telegram.bot_api import BotApi, TelegramError
from videobot.telegram.status_board import WATCHED_STAGES, StatusBoard

log = logging.getLogger(__name__)
ALBUM_MAX = 10


class TelegramChannel:
    def __init__(
        self, settings: Settings, store: JobStore, records: BotRecords, api: BotApi,
        files: MediaStore | None = None,
    ) -> None:
        self.settings, self.store, self.records, self.api = settings, store, records, api
        self.files = files or open_media_store(settings)
        self.board = StatusBoard(api, store, records, settings.telegram_edit_seconds)

    def progress(self, job: VideoJob, text: str) -> None:
        # The text is the pipeline's English note; the chat shows its own status line instead.
        self.board.refresh(job.id)
        if self.store.job(job.id).stage in WATCHED_STAGES:
            self.board.watch(job.id)

    def show_script(self, job: VideoJob, script: Script, attempt: int) -> None:
        lang = self.board.language(job.user_id)
        heard = job.prompt if job.prompt_kind == "voice" else None
        text = script_message(lang, script, attempt, heard, job.language)
        self._send_gate(job, text, "script", attempt)

    def show_media(
        self,
        job: VideoJob,
        kind: str,
        segments: Sequence[VideoSegment],
        sheet: Path | None,
        attempt: int,
        note: str | None = None,
    ) -> None:
        lang = self.board.language(job.user_id)
        # Only what this round made: a redo of scene 3 sends one picture, not ten again.
        ready = [Path(path) for seg in made_in_round(segments, kind, attempt)
                 if (path := seg.image_path if kind == "images" else seg.video_path)]
        self.api.call(
            "sendChatAction",
            chat_id=job.chat_id,
            action="upload_photo" if kind == "images" else "upload_video",
        )
        self._send_album(job, "photo" if kind == "images" else "video", ready)
        if sheet is not None and self.files.exists(str(sheet)):
            with self._copies([sheet]) as (photo,):
                self.api.call(
                    "sendPhoto",
                    files={"photo": photo},
                    chat_id=job.chat_id,
                    caption=tr(lang, "sheet_caption"),
                )
        failed = [
            seg
            for seg in segments
            if (seg.image_status if kind == "images" else seg.video_status) != "ready"
        ]
        if failed:
            self._tell_admins_of_scenes(job, kind, failed, attempt)
        motion = job_motion(self.settings, job.motion_model, job.motion_seconds)
        estimate = (clip_stage_estimate(self.settings, len(segments), motion)
                    if kind == "images" else None)
        text = media_message(lang, kind, segments, attempt, estimate, motion.model)
        self._send_gate(job, text, kind, attempt)

    def deliver(self, job: VideoJob, video: Path) -> None:
        with self._copies([video]) as (local,):
            self._send_video(job, local)
        self.board.refresh(job.id, status=JobStatus.DELIVERED)

    def _send_video(self, job: VideoJob, video: Path) -> None:
        lang = self.board.language(job.user_id)
        max_bytes = int(self.settings.telegram_video_max_mb * 1024 * 1024)
        upload = fit_to_size(video, video.with_name("video-telegram.mp4"), max_bytes)
        info = probe(upload)
        caption = tr(
            lang,
            "video_caption",
            title=job.title or "",
            cost=f"{job.cost_usd:.2f}",
            duration=f"{info.duration:.0f}",
        )
        self.api.call("sendChatAction", chat_id=job.chat_id, action="upload_video")
        self.api.call(
            "sendVideo",
            files={"video": upload},
            chat_id=job.chat_id,
            caption=clip(caption, CAPTION_LIMIT),
            duration=round(info.duration),
            width=info.width,
            height=info.height,
            supports_streaming=True,
        )

    def resumed(self, job: VideoJob) -> None:
        lang = self.board.language(job.user_id)
        self.api.call("sendMessage", chat_id=job.chat_id, text=tr(lang, "resumed_after_fault"))

    def expired(self, job: VideoJob, hours: float) -> None:
        """A new message, so the person is notified (an edited status message is silent)."""
        lang = self.board.language(job.user_id)
        text = tr(lang, "expired", hours=f"{hours:g}")
        try:
            self.api.call("sendMessage", chat_id=job.chat_id, text=text)
        finally:
            self.board.refresh(job.id)

    def fail(self, job: VideoJob, reason: str) -> None:
        """The person reads what failed in their words; the operator gets the full reason, in
        the log and as a message to each admin."""
        log.warning("Job %s failed at stage %s: %s", short_id(job.id), job.stage, reason)
        lang = self.board.language(job.user_id)
        text = job_failure_text(lang, short_id(job.id), job.stage, reason)
        try:
            self.api.call("sendMessage", chat_id=job.chat_id, text=clip(text))
        finally:
            self._tell_admins(
                lambda admin_lang: admin_failure_text(
                    admin_lang, short_id(job.id), job.user_id, job.stage, reason
                )
            )
        self.board.refresh(job.id)

    def _tell_admins_of_scenes(
        self, job: VideoJob, kind: str, failed: Sequence[VideoSegment], attempt: int
    ) -> None:
        """Scenes that failed for good reach the gate; their full reasons reach the operator."""
        reasons = "\n".join(f"{seg.index + 1}: {seg.error or '-'}" for seg in failed)
        log.warning(
            "Job %s, %s round %d: %d scene(s) failed: %s",
            short_id(job.id), kind, attempt, len(failed), reasons.replace("\n", "; "),
        )
        self._tell_admins(
            lambda admin_lang: tr(
                admin_lang,
                "admin_scenes_failed",
                job=short_id(job.id),
                person=job.user_id,
                stage=kind,
                attempt=attempt,
                count=len(failed),
                reasons=reasons,
            )
        )

    def _tell_admins(self, text_in: Callable[[str], str]) -> None:
        """Send each admin the text in their language; one who cannot be reached (never wrote
        to the bot, blocked it) is logged and skipped."""
        for admin in self.settings.admin_user_ids:
            # Admins are people of the bot; their key is the bot's "tg:<telegram id>".
            text = clip(text_in(self.board.language(f"tg:{admin}")))
            try:
                self.api.call("sendMessage", chat_id=admin, text=text)
            except TelegramError as exc:
                log.warning("Could not tell admin %s of a failure: %s", admin, exc)

    def _send_gate(self, job: VideoJob, text: str, stage: str, attempt: int) -> None:
        lang = self.board.language(job.user_id)
        markup = inline_markup(gate_keyboard(lang, job.id, stage, attempt))
        self.api.call("sendMessage", chat_id=job.chat_id, text=text, reply_markup=markup)
        self.board.refresh(job.id)

    @contextmanager
    def _copies(self, stored: Sequence[Path | str]) -> Iterator[list[Path]]:
        """Local copies of stored media (keys, or older rows' paths) for one upload, removed
        once it is sent."""
        with Scratch(self.files, self.settings.scratch_dir) as scratch:
            yield [scratch.fetch(str(ref)) for ref in stored]

    def _send_album(self, job: VideoJob, kind: str, stored: list[Path]) -> None:
        """Albums hold 2-10 items; a lone file goes on its own."""
        with self._copies(stored) as files:
            self._send_files(job, kind, files)

    def _send_files(self, job: VideoJob, kind: str, files: list[Path]) -> None:
        for start in range(0, len(files), ALBUM_MAX):
            chunk = files[start : start + ALBUM_MAX]
            if len(chunk) == 1:
                method = "sendPhoto" if kind == "photo" else "sendVideo"
                self.api.call(method, files={kind: chunk[0]}, chat_id=job.chat_id)
                continue
            attached = {f"scene{start + i + 1}": path for i, path in enumerate(chunk)}
            media = [{"type": kind, "media": f"attach://{name}"} for name in attached]
            self.api.call("sendMediaGroup", files=attached, chat_id=job.chat_id, media=media)


class ChannelSources(Protocol):
    """What the channel takes from the process that sends: its settings, job store and
    media store."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> JobStore: ...

    @property
    def files(self) -> MediaStore: ...


_channel: TelegramChannel | None = None
_channel_lock = threading.Lock()


def telegram_channel(rt: ChannelSources) -> TelegramChannel:
    """The process's one Telegram channel (its status board watches jobs across tasks)."""
    global _channel
    with _channel_lock:
        if _channel is None:
            token = rt.settings.telegram_bot_token
            if token is None:
                raise ConfigurationError("the telegram channel needs TELEGRAM_BOT_TOKEN")
            api = BotApi(rt.settings.telegram_api_base_url, token.get_secret_value())
            _channel = TelegramChannel(rt.settings, rt.store, BotRecords(rt.store.db), api,
                                       rt.files)
        return _channel
