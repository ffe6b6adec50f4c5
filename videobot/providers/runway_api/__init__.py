"""Runway providers: text_to_image, image_to_video and text_to_speech tasks through the
`runwayml` SDK."""

from videobot.providers.runway_api.client import build_download_client, build_runway_client
from videobot.providers.runway_api.errors import (
    TaskFailed,
    classify_runway_error,
    classify_task_failure,
)
from videobot.providers.runway_api.media import RunwayAnimator, RunwayImageMaker, image_data_uri
from videobot.providers.runway_api.ratios import choose_ratio, model_ratios
from videobot.providers.runway_api.speech import RunwayNarrator, choose_voice, model_voices
from videobot.providers.runway_api.tasks import PollPolicy, TaskOutcome, TaskRunner

__all__ = [
    "PollPolicy",
    "RunwayAnimator",
    "RunwayImageMaker",
    "RunwayNarrator",
    "TaskFailed",
    "TaskOutcome",
    "TaskRunner",
    "build_download_client",
    "build_runway_client",
    "choose_ratio",
    "choose_voice",
    "classify_runway_error",
    "classify_task_failure",
    "image_data_uri",
    "model_ratios",
    "model_voices",
]
