"""`videobot doctor`: each capability's provider, model, key, server and shutdown date."""

from __future__ import annotations

import socket
from datetime import date
from pathlib import Path

import pytest

from cli.commands import main
from cli.doctor import report
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.runway_server import FakeRunway
from videobot.settings import Settings, get_settings


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_offline_providers_are_ready(tmp_path: Path) -> None:
    """The default configuration: everything built in, nothing to warn about."""
    table, healthy = report(Settings(data_dir=tmp_path), None, date(2026, 12, 1))
    assert healthy, table
    assert "narration      offline" in table.replace("  ok", "")
    assert "ok app database: reachable" in table


def test_real_providers_are_asked_and_dates_shown(tmp_path: Path) -> None:
    """OpenAI and Runway fakes answer; the OpenAI narrator's shutdown date is on its line and
    marked, being within 30 days; keys are never printed."""
    with FakeOpenAI() as oai, FakeRunway() as rw:
        settings = Settings(
            data_dir=tmp_path, script_provider="openai", tts_provider="openai",
            video_provider="runway", openai_api_key="sk-test", openai_base_url=oai.base_url,
            runwayml_api_secret=FakeRunway.API_KEY, runwayml_base_url=rw.url,
        )
        table, healthy = report(settings, None, date(2026, 12, 20))
    lines = {line.split()[1]: line for line in table.splitlines()[1:6]}
    assert lines["script"].startswith("ok") and "answers" in lines["script"]
    assert "answers · 1000 credits" in lines["clips"]
    assert lines["narration"].startswith("!!") and lines["narration"].endswith("2027-01-06")
    assert not healthy
    assert "sk-test" not in table and FakeRunway.API_KEY not in table


def test_a_dead_server_and_a_missing_key_are_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that does not answer and a key that is missing: their lines say so, exit 1,
    within a few seconds."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SCRIPT_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_dead_port()}/v1")
    monkeypatch.setenv("VIDEO_PROVIDER", "runway")
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    monkeypatch.delenv("RUNWAY_API_KEY", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["doctor"]) == 1
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    script = next(line for line in out.splitlines() if " script " in line)
    clips = next(line for line in out.splitlines() if " clips " in line)
    assert script.startswith("!!") and "no answer from 127.0.0.1" in script
    assert clips.startswith("!!") and "missing" in clips and "not asked: no key" in clips
    assert "Traceback" not in out


def test_the_media_store_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local media folder is written to; a bucket whose server does not answer is marked,
    named without its keys, and makes the report unhealthy."""
    table, healthy = report(Settings(data_dir=tmp_path), None, date(2026, 12, 1))
    assert f"ok media store: writable at {tmp_path}" in table and healthy

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "doctor-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "doctor-secret-value")
    settings = Settings(
        data_dir=tmp_path, media_store="s3://videobot-media/jobs",
        media_store_endpoint_url=f"http://127.0.0.1:{_dead_port()}",
    )
    table, healthy = report(settings, None, date(2026, 12, 1))
    store = next(line for line in table.splitlines() if "media store" in line)
    assert store == "!! media store: cannot use the media store s3://videobot-media/jobs: " \
        "its server does not answer"
    assert not healthy
    assert "doctor-secret-value" not in table and "doctor-key-id" not in table
