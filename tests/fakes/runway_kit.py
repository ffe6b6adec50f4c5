"""Runway providers wired to a FakeRunway, with a clock that never sleeps for real.

    @pytest.fixture
    def kit(runway: FakeRunway, tmp_path: Path) -> Iterator[Callable[..., Kit]]:
        with ExitStack() as stack:
            yield functools.partial(build_kit, runway, tmp_path / "data", stack)

    k = kit(provider_attempts=6)      # keyword arguments override Settings fields
    k.images.make_image(...); k.animator.animate(...); k.time.sleeps; k.time.now
"""

from __future__ import annotations

import base64
import io
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from pydantic import SecretStr

from tests.fakes.runway_server import FakeRunway
from videobot.formats import VideoFormat
from videobot.providers.runway_api import (
    RunwayAnimator,
    RunwayImageMaker,
    build_download_client,
    build_runway_client,
)
from videobot.settings import Settings


class FakeTime:
    """A clock that moves only when something sleeps on it; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@dataclass
class Kit:
    images: RunwayImageMaker
    animator: RunwayAnimator
    time: FakeTime
    settings: Settings


def build_kit(server: FakeRunway, data_dir: Path, stack: ExitStack, **overrides: Any) -> Kit:
    """Both providers on real clients pointed at `server`; clients close with `stack`."""
    values: dict[str, Any] = {
        "runwayml_api_secret": SecretStr(FakeRunway.API_KEY),
        "runwayml_base_url": server.url,
        "data_dir": data_dir,
        "provider_timeout_seconds": 30.0,
        "video_scale": 1.0,  # media at the format's full size, not the suite's drafts
        **overrides,
    }
    settings = Settings(**values)
    client = stack.enter_context(build_runway_client(settings))
    downloads = stack.enter_context(build_download_client(settings))
    time = FakeTime()
    return Kit(
        RunwayImageMaker(client, downloads, settings, sleep=time.sleep, clock=time.clock),
        RunwayAnimator(client, downloads, settings, sleep=time.sleep, clock=time.clock),
        time,
        settings,
    )


def still(path: Path, fmt: VideoFormat) -> Path:
    """A plain picture at the format's size, to animate or to use as a reference."""
    Image.new("RGB", fmt.size, (40, 90, 160)).save(path)
    return path


def decode_data_uri(uri: str) -> Image.Image:
    """The picture in a JPEG data URI (fails if it is anything else)."""
    head, data = uri.split(",", 1)
    assert head == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)))
