"""A dead server fails in under a minute with the default settings, retries included: a closed
port, a port whose connection never completes, and a server that accepts and never answers.

These wait for real (the defaults: 10 s to connect, 20 s for a quick answer, 4 attempts with
1-2-4 s backoff), so the scenarios run side by side once, in about 50 s, and each test reads its
own result.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from videobot.formats import VideoFormat
from videobot.providers.base import ProviderError
from videobot.providers.openai_api import OpenAIImageMaker, OpenAINarrator
from videobot.providers.runway_api import (
    RunwayImageMaker,
    build_download_client,
    build_runway_client,
)
from videobot.settings import Settings

LIMIT_SECONDS = 60.0


@dataclass
class Outcome:
    seconds: float
    reason: str
    connections: int  # connections the server accepted (attempts that reached it)


class SilentServer:
    """Accepts every connection on 127.0.0.1 and never reads or answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.sock.accept()[0])

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


class UnconnectableServer:
    """A listening port whose queue is full: new connections are never completed."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.filler = socket.create_connection(self.sock.getsockname())  # fills the queue

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.filler.close()
        self.sock.close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _openai(url: str, tmp: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, openai_api_key=SecretStr("sk-test"), openai_base_url=f"{url}/v1",
        data_dir=tmp,
    )


def _runway_image(url: str, tmp: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, runwayml_api_secret=SecretStr("key_test"), runwayml_base_url=url,
        data_dir=tmp,
    )
    with build_runway_client(settings) as client, build_download_client(settings) as downloads:
        RunwayImageMaker(client, downloads, settings).make_image(
            "a fox", "", 0, VideoFormat.LANDSCAPE, tmp / "r.png"
        )


def _timed(call: Callable[[], object], accepted: Callable[[], int] = lambda: 0) -> Outcome:
    started = time.monotonic()
    try:
        call()
    except ProviderError as exc:
        return Outcome(time.monotonic() - started, exc.reason, accepted())
    raise AssertionError("the call to a dead server succeeded")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """Every scenario, run at once with the default settings."""
    tmp = tmp_path_factory.mktemp("dead")
    silent_openai, silent_runway = SilentServer(), SilentServer()
    unconnectable = UnconnectableServer()
    closed = closed_port_url()
    scenarios: dict[str, Callable[[], Outcome]] = {
        "openai closed port": lambda: _timed(lambda: OpenAIImageMaker(
            _openai(closed, tmp)).make_image("a", "", 0, VideoFormat.SQUARE, tmp / "a.png")),
        "openai no connection": lambda: _timed(lambda: OpenAIImageMaker(
            _openai(unconnectable.url, tmp)).make_image(
                "a", "", 0, VideoFormat.SQUARE, tmp / "b.png")),
        "openai silent speech": lambda: _timed(lambda: OpenAINarrator(
            _openai(silent_openai.url, tmp)).narrate("Hello.", "en", tmp / "n.wav"),
            lambda: len(silent_openai.accepted)),
        "runway closed port": lambda: _timed(lambda: _runway_image(closed, tmp)),
        "runway silent": lambda: _timed(lambda: _runway_image(silent_runway.url, tmp),
                                        lambda: len(silent_runway.accepted)),
    }
    try:
        with ThreadPoolExecutor(len(scenarios)) as pool:
            futures = {name: pool.submit(run) for name, run in scenarios.items()}
            yield {name: future.result() for name, future in futures.items()}
    finally:
        for server in (silent_openai, silent_runway, unconnectable):
            server.close()


def test_closed_port_fails_fast(outcomes: dict[str, Outcome]) -> None:
    """Nothing listening: four quick attempts with backoff, well under a minute."""
    for name in ("openai closed port", "runway closed port"):
        found = outcomes[name]
        assert found.seconds < 20 and "(after 4 attempts)" in found.reason, (name, found)
    assert "could not reach OpenAI" in outcomes["openai closed port"].reason
    assert "could not connect to Runway" in outcomes["runway closed port"].reason


def test_connection_that_never_completes_fails_within_a_minute(
    outcomes: dict[str, Outcome],
) -> None:
    """A dead network (connect times out): 4 attempts × 10 s plus backoff stays under 60 s."""
    found = outcomes["openai no connection"]
    assert 35 < found.seconds < LIMIT_SECONDS, found
    assert found.reason == "could not reach OpenAI (no connection in time) (after 4 attempts)"


def test_silent_server_fails_within_a_minute(outcomes: dict[str, Outcome]) -> None:
    """Accepted but never answered: two tries at the quick read limit (20 s), under 60 s."""
    for name, words in (("openai silent speech", "OpenAI did not answer in time"),
                        ("runway silent", "Runway did not answer in time")):
        found = outcomes[name]
        assert 35 < found.seconds < LIMIT_SECONDS, (name, found)
        assert found.connections == 2 and found.reason == f"{words} (after 2 attempts)"
