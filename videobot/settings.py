"""One settings object, read once from the environment (and an optional `.env`)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from videobot.formats import VideoFormat

ScriptProvider = Literal["offline", "openai"]
ImageProvider = Literal["offline", "openai", "runway"]
VideoProvider = Literal["offline", "runway"]
SpeechProvider = Literal["offline", "openai"]
NarratorProvider = Literal["offline", "openai", "runway"]
LanguageChoice = Literal["auto", "en", "ru"]
# The voices offered in /settings when Runway narrates (Runway preset names).
RUNWAY_NARRATOR_VOICES = ("Maya", "Arjun", "Serene", "Bernard")


class ConfigurationError(ValueError):
    """Settings that cannot work; the message names the variables to fix."""


def _default_data_dir() -> Path:
    return Path.home() / ".videobot"


# A run silent this long is lost (see `Settings.lost_run_seconds`).
LOST_RUN_SECONDS = 45

class Settings(BaseSettings):
    """Everything configurable; secrets have no default and are never logged (SecretStr)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Secrets: only from the environment.
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_url: str | None = None
    openai_api_key: SecretStr | None = None
    runwayml_api_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("RUNWAYML_API_SECRET", "RUNWAY_API_KEY")
    )

    # Storage.
    data_dir: Path = Field(default_factory=_default_data_dir)
    media_root: Path | None = None
    database_url: str | None = None
    # Where media live: unset for the local MEDIA_ROOT folder, or s3://bucket/prefix for any
    # S3-compatible bucket (keys and region from AWS's usual environment variables).
    media_store: str | None = None
    media_store_endpoint_url: str | None = None  # a server other than AWS (MinIO, R2, ...)
    # Local copies ffmpeg works on, emptied after each step.
    scratch_root: Path | None = Field(
        default=None, validation_alias=AliasChoices("scratch_root", "SCRATCH_DIR")
    )

    # Providers, one per capability.
    script_provider: ScriptProvider = "offline"
    image_provider: ImageProvider = "offline"
    video_provider: VideoProvider = "offline"
    tts_provider: NarratorProvider = "offline"
    stt_provider: SpeechProvider = "offline"

    # OpenAI (models move fast: every name here is a setting, never a literal in code).
    openai_base_url: str | None = None
    openai_api_mode: Literal["responses", "chat"] = "responses"
    openai_text_model: str = "gpt-5.4-mini"
    openai_image_model: str = "gpt-image-2"
    openai_image_quality: Literal["low", "medium", "high", "auto"] = "medium"
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_tts_voice: str = "alloy"
    openai_tts_speed: float = Field(default=1.0, ge=0.25, le=4.0)
    openai_stt_model: str = "gpt-transcribe"
    llm_output_attempts: int = Field(default=3, ge=1, le=10)

    # Runway.
    runwayml_base_url: str | None = None
    runway_image_model: str = "gen4_image"
    runway_video_model: str = "gen4_turbo"
    runway_tts_model: str = "eleven_multilingual_v2"  # an ElevenLabs model; speaks Russian
    runway_tts_voice: str = "Maya"  # a Runway preset voice, used when the person chose none
    runway_poll_seconds: float = Field(default=5.0, gt=0)
    runway_max_wait_seconds: float = Field(default=900.0, gt=0)

    # Prices in USD, for the ledger and the estimates shown before paying.
    price_text_input_per_mtok: float = 0.25
    price_text_output_per_mtok: float = 2.0
    price_openai_image: float = 0.04
    price_tts_per_mchar: float = 15.0
    price_stt_per_minute: float = 0.006
    runway_usd_per_credit: float = 0.01
    # gen4_image is priced by resolution: ratios with a side of 720 or less are 720p.
    runway_image_credits_720p: float = 5.0
    runway_image_credits_1080p: float = 8.0
    # The clip models offered per job (`/settings`, `videobot make --motion`), each with its
    # price in credits per second of clip: "gen4_turbo:5,gen4.5:12,veo3.1_fast:10". Only the
    # ones the installed SDK's image_to_video takes are offered. veo prices are without audio.
    runway_video_prices: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"gen4_turbo": 5.0, "gen4.5": 12.0, "veo3.1_fast": 10.0,
                                 "veo3.1": 20.0}
    )
    # A model missing from the table is priced at this; set alone, it prices RUNWAY_VIDEO_MODEL.
    runway_video_credits_per_second: float = 5.0
    # Runway prices eleven_multilingual_v2 at 1 credit per 50 characters; estimates round up.
    runway_tts_credits_per_50_chars: float = 1.0

    # Budgets in USD, from the ledger's recorded costs and each stage's estimate: a stage that
    # would pass one is not started. None: no limit.
    max_cost_per_job: float | None = Field(default=None, gt=0)
    max_cost_per_user_day: float | None = Field(default=None, gt=0)

    # Faults: one retry layer, SDK retries off.
    provider_attempts: int = Field(default=4, ge=1, le=10)
    provider_backoff_seconds: float = Field(default=1.0, ge=0)
    provider_backoff_max_seconds: float = Field(default=30.0, ge=0)
    # Time limits (httpx connect/read): a dead network fails within the connect limit on every
    # attempt; the read limit is how long a connected server may think before it answers.
    provider_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    # OpenAI images and text send nothing until they are done: a generous limit.
    provider_read_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        validation_alias=AliasChoices(
            "provider_read_timeout_seconds", "PROVIDER_READ_TIMEOUT_SECONDS",
            "provider_timeout_seconds", "PROVIDER_TIMEOUT_SECONDS",
        ),
    )
    # Calls that answer at once: Runway's API and downloads, OpenAI speech and transcription.
    provider_quick_read_timeout_seconds: float = Field(default=20.0, gt=0)

    # What a video looks and sounds like.
    video_format: VideoFormat = VideoFormat.LANDSCAPE
    language: LanguageChoice = "auto"
    narration_max_tempo: float = Field(default=1.35, ge=1.0, le=2.0)
    offline_voice_speed_wpm: int = Field(default=165, ge=80, le=400)
    # English offline narration: Piper's neural joe voice, or espeak-ng (always for Russian).
    # espeak-ng by default: Piper's neural English voice is opt-in while a narration that hung
    # once after Piper ran in the same process is unexplained, and it adds ~6 s to a video.
    offline_voice_engine: Literal["piper", "espeak"] = "espeak"
    music: bool = True  # a bed under the voice: a file from music_dir, else a synthesised pad
    music_dir: Path | None = None  # the user's own tracks (their licence), one picked per job
    captions: bool = True  # burned into the picture (re-encodes it)
    # Pictures, clips and the video are made at this share of the format's size: 0.25 is a
    # quick draft (320x180 for 16:9) that costs a fraction of the encoding time.
    video_scale: float = Field(default=1.0, ge=0.1, le=1.0)
    caption_size: float = Field(default=0.068, gt=0.02, le=0.2)  # share of the shorter side
    # Bottom margin as a share of the height; unset: per format, clear of the platforms' buttons.
    caption_position: float | None = Field(default=None, ge=0.0, le=0.8)

    # Operations.
    log_level: str = "INFO"
    max_concurrent_jobs: int = Field(default=5, ge=1)
    openai_concurrency: int = Field(default=8, ge=1)
    runway_concurrency: int = Field(default=2, ge=1)
    file_cleanup_hours: int = Field(default=72, ge=1)
    approval_timeout_hours: float = Field(default=48, gt=0)
    gate_poll_seconds: int = Field(default=1, ge=1, le=60)
    # How often the serve process asks the Prefect server for runs to start (or resume). A
    # resumed run waits half of it on average; 4 polls a second cost an idle SQLite-backed
    # Prefect server about 3% of a core more than 2 a second.
    runner_poll_seconds: float = Field(default=0.25, ge=0.1, le=60)
    parallel_tasks: int = Field(default=10, ge=1, le=50)
    # Workers on a work pool (`videobot worker`).
    worker_pool: str = "videobot"
    worker_poll_seconds: float = Field(default=2.0, ge=0.5, le=60)
    # A run whose beats (every 10 s, `orchestration.liveness`) stop this long is lost with its
    # process (a killed stack, a dead worker) and scheduled again. 45 s lets three beats in a
    # row go missing or come 35 s late: a busy Prefect server delays and drops events (a
    # window of 45 s over Prefect's 30 s heartbeats alone started live runs a second time
    # under load; their older attempt then steps aside, `tasks.attempts`).
    lost_run_seconds: int = Field(default=LOST_RUN_SECONDS, ge=30, le=3600)

    # Telegram bot. Lists are comma-separated in the environment: ADMIN_USER_IDS=1,2.
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = Field(default=8080, ge=1, le=65535)
    allowed_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=5, ge=1)
    rate_limit_per_hour: int = Field(default=20, ge=1)
    active_jobs_per_user: int = Field(default=1, ge=1)
    telegram_edit_seconds: float = Field(default=2.0, ge=0)
    telegram_video_max_mb: float = Field(default=50.0, gt=0)
    voice_max_seconds: int = Field(default=120, ge=1)
    voice_max_mb: float = Field(default=20.0, gt=0)
    narrator_voices: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["alloy", "ash", "coral", "sage"]
    )

    @field_validator("allowed_user_ids", "admin_user_ids", "narrator_voices", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("runway_video_prices", mode="before")
    @classmethod
    def _price_table(cls, value: object) -> object:
        """"model:credits,model:credits" from the environment (JSON works too)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                return json.loads(text)
            table: dict[str, str] = {}
            for item in filter(None, (part.strip() for part in text.split(","))):
                model, sep, price = item.rpartition(":")
                if not sep or not model.strip():
                    raise ValueError(f"{item!r} is not model:credits_per_second")
                table[model.strip()] = price.strip()
            return table
        return value

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser()
        if self.media_root is None:
            self.media_root = self.data_dir / "media"
        if self.scratch_root is None:
            self.scratch_root = self.data_dir / "scratch"
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'videobot.db'}"
        if self.tts_provider == "runway" and "narrator_voices" not in self.model_fields_set:
            self.narrator_voices = list(RUNWAY_NARRATOR_VOICES)
        if ("runway_video_credits_per_second" in self.model_fields_set
                and "runway_video_prices" not in self.model_fields_set):
            self.runway_video_prices = {
                **self.runway_video_prices,
                self.runway_video_model: self.runway_video_credits_per_second,
            }
        return self

    def missing_keys(self) -> list[str]:
        """Environment variables the chosen providers need but that are not set."""
        missing = []
        uses_openai = "openai" in (
            self.script_provider, self.image_provider, self.tts_provider, self.stt_provider
        )
        if uses_openai and self.openai_api_key is None:
            missing.append("OPENAI_API_KEY")
        uses_runway = "runway" in (self.image_provider, self.video_provider, self.tts_provider)
        if uses_runway and self.runwayml_api_secret is None:
            missing.append("RUNWAYML_API_SECRET")
        return missing

    def require_keys(self) -> None:
        """Stop start-up when a chosen provider lacks its key, naming what to set."""
        missing = self.missing_keys()
        if missing:
            raise ConfigurationError(
                f"the chosen providers need {' and '.join(missing)} in the environment "
                "(or choose the offline providers)"
            )

    @property
    def media_dir(self) -> Path:
        assert self.media_root is not None
        return self.media_root.expanduser()

    @property
    def scratch_dir(self) -> Path:
        assert self.scratch_root is not None
        return self.scratch_root.expanduser()

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings()
