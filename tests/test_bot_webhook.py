"""Webhook mode: the URL is registered as given, the secret token is required, /health reports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bot_fixtures import REPO, BotProcess, job_rows, telegram_env
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import chat, command_entities, person
from tests.serving import free_port

SECRET = "webhook-secret-" + "7" * 16


def _env(tg: FakeTelegram, port: int, url: str) -> dict[str, str]:
    return {
        **telegram_env(tg),
        "TELEGRAM_WEBHOOK_URL": url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": str(port),
        "ALLOWED_USER_IDS": "3001,3002",
    }


@pytest.fixture(scope="module")
def hook(
    prefect_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FakeTelegram, str, BotProcess]]:
    with FakeTelegram() as tg:
        port = free_port()
        url = f"http://127.0.0.1:{port}/telegram/updates"
        bot = BotProcess(
            prefect_server, _env(tg, port, url), tmp_path_factory.mktemp("hook") / "bot.log"
        )
        bot.start(ready="videobot bot: webhook")
        yield tg, url, bot
        assert bot.stop() == 0


def _post(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, json.dumps(update).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _update(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": chat(user),
            "from": person(user),
            "text": text,
            "entities": command_entities(text),
        },
    }


def _health(url: str) -> tuple[int, dict[str, Any]]:
    """GET /health: the bot says it runs in webhook mode only once its server listens."""
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return int(reply.status), json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_webhook_is_registered_with_the_url_as_given(
    hook: tuple[FakeTelegram, str, BotProcess],
) -> None:
    """setWebhook gets exactly TELEGRAM_WEBHOOK_URL and the secret token, once the bot's
    server already listens there (Telegram delivers as soon as the call succeeds)."""
    tg, url, _ = hook
    assert tg.webhook is not None
    assert tg.webhook["url"] == url and tg.webhook["secret_token"] == SECRET
    assert tg.webhook_listening is True


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
def test_wrong_or_missing_secret_is_403_and_creates_nothing(
    hook: tuple[FakeTelegram, str, BotProcess], secret: str | None
) -> None:
    """A prompt without the right secret token is refused before the bot sees it."""
    tg, url, _ = hook
    rows = job_rows()
    assert _post(url, _update(10, 3001, "How volcanoes work"), secret) == 403
    assert job_rows() == rows
    assert tg.chat_messages(3001) == []


def test_right_secret_is_served(hook: tuple[FakeTelegram, str, BotProcess]) -> None:
    """With the secret, the update reaches the handlers."""
    tg, url, _ = hook
    assert _post(url, _update(11, 3002, "/help"), SECRET) == 200
    tg.wait_for_message(3002, lambda m: "/status" in m.text, timeout=30)


def test_people_outside_the_allow_list_are_turned_away(
    hook: tuple[FakeTelegram, str, BotProcess],
) -> None:
    """With ALLOWED_USER_IDS set, anyone else is told the bot is private; no job."""
    tg, url, _ = hook
    rows = job_rows()
    assert _post(url, _update(12, 3003, "How volcanoes work"), SECRET) == 200
    tg.wait_for_message(3003, lambda m: "this bot is private" in m.text, timeout=30)
    assert job_rows() == rows


def test_health_reports_database_and_prefect(hook: tuple[FakeTelegram, str, BotProcess]) -> None:
    """GET /health: healthy, with both dependencies reachable."""
    _, url, _ = hook
    status, body = _health(url.rsplit("/", 2)[0] + "/health")
    assert status == 200
    assert body == {
        "status": "healthy",
        "service": "videobot",
        "mode": "webhook",
        "database": "reachable",
        "prefect_api": "reachable",
        "warnings": [],
    }


def test_health_without_prefect_is_503(tmp_path: Path) -> None:
    """With the Prefect API down, /health says so (503) while the bot keeps running."""
    with FakeTelegram() as tg:
        port = free_port()
        dead_api = f"http://127.0.0.1:{free_port()}/api"
        bot = BotProcess(
            dead_api, _env(tg, port, f"http://127.0.0.1:{port}/hook"), tmp_path / "bot.log"
        ).start(ready="videobot bot: webhook")
        try:
            status, body = _health(f"http://127.0.0.1:{port}/health")
        finally:
            bot.stop()
    assert status == 503
    assert (body["status"], body["database"], body["prefect_api"]) == (
        "unhealthy",
        "reachable",
        "unreachable",
    )


def test_webhook_without_secret_refuses_to_start() -> None:
    """TELEGRAM_WEBHOOK_URL without TELEGRAM_WEBHOOK_SECRET: exit 2, the token never printed."""
    token = "7000001:AAnever-print-this-token"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_WEBHOOK_URL": "https://example.org/hook",
    }
    env.pop("TELEGRAM_WEBHOOK_SECRET", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in done.stderr
    assert token not in done.stdout + done.stderr


def test_a_port_in_use_stops_the_bot_with_one_line(prefect_server: str) -> None:
    """Another process listens on the webhook port: the bot says so in one line and exits 2,
    without a traceback, and registers no webhook Telegram could not deliver to."""
    with FakeTelegram() as tg, socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "PREFECT_API_URL": prefect_server,
               **_env(tg, port, f"http://127.0.0.1:{port}/hook")}
        done = subprocess.run([sys.executable, "-m", "bot"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)
        assert tg.webhook is None
    assert done.returncode == 2
    assert f"videobot bot: the webhook server could not listen on port {port}" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
