"""Webhook mode: Telegram POSTs updates to TELEGRAM_WEBHOOK_URL (used exactly as given), each
carrying the secret token; `GET /health` reports the database and the Prefect API."""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
from types import FrameType
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.health import health
from bot.services import Services
from videobot.settings import ConfigurationError, Settings

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def listen_path(url: str) -> str:
    """The path Telegram will POST to: the URL's own path, not a second one appended."""
    return urlsplit(url).path or "/"


def webhook_app(application: Application, secret: str, path: str) -> Starlette:
    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return Response(status_code=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except Exception:
            return Response(status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    async def report(request: Request) -> Response:
        services: Services = application.bot_data["services"]
        status, body = await health(services, "webhook")
        return JSONResponse(body, status_code=status)

    return Starlette(
        routes=[Route(path, receive, methods=["POST"]), Route("/health", report, methods=["GET"])]
    )


async def _serve(server: uvicorn.Server) -> bool:
    """Serve until told to stop; False when the server could not start. uvicorn's startup
    logs why and calls sys.exit when it cannot listen (a port in use, say), which would end
    the process with a traceback before the application is shut down."""
    try:
        await server.serve()
    except SystemExit:
        return False
    return True


async def run_webhook(application: Application, settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then stop the application cleanly."""
    url = settings.telegram_webhook_url
    if not url or settings.telegram_webhook_secret is None:
        raise ConfigurationError(
            "webhook mode needs TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET"
        )
    secret = settings.telegram_webhook_secret.get_secret_value()
    server = uvicorn.Server(
        uvicorn.Config(
            webhook_app(application, secret, listen_path(url)),
            host=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            log_level="warning",
            access_log=False,
        )
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn restores these after serving and re-raises the signal it caught into them.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        # Telegram delivers as soon as setWebhook succeeds, so the server listens first.
        serving = asyncio.create_task(_serve(server))
        while not server.started:
            if serving.done() and not serving.result():
                raise ConfigurationError(
                    f"the webhook server could not listen on port {settings.telegram_webhook_port}"
                )
            await asyncio.sleep(0.05)
        await application.bot.set_webhook(
            url=url, secret_token=secret, allowed_updates=Update.ALL_TYPES
        )
        print(f"videobot bot: webhook on port {settings.telegram_webhook_port}", flush=True)
        await serving
    finally:
        if application.running:  # also when the server could not start
            await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
