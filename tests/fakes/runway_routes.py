"""What the fake Runway answers to a request past its faults: the key and version checks, task
creation, polls and cancels, the outputs' media, and the task state these work on.

FakeRunway (tests/fakes/runway_server.py) is a RunwayRoutes: it adds the HTTP server, the
faults, the hold on creates and the request log; runway_tasks.py checks bodies and makes media.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.runway_tasks import (
    FakeTask,
    TaskScript,
    check_create,
    check_speech,
    mp3,
    mp4,
    png,
    speech_seconds,
)

CREATE_PATHS = ("/v1/text_to_image", "/v1/image_to_video", "/v1/text_to_speech")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0


class RunwayRoutes:
    """Runway's API behind the fake server, with the tasks it made and their outputs."""

    def __init__(self, *, polls_to_finish: int, api_key: str) -> None:
        self.api_key = api_key
        self.polls_to_finish = polls_to_finish
        self.credit_balance = 1_000  # what GET /v1/organization reports
        self.video_size: tuple[int, int] | None = None
        self.task_seconds: dict[str, float] = {}
        self.tasks: dict[str, FakeTask] = {}
        self._scripts: list[TaskScript] = []
        self._outputs: dict[str, tuple[str, tuple[int, int], float]] = {}
        # One lock for all of the fake's state: handlers run on threads of their own.
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server's address, which output URLs start with."""
        raise NotImplementedError

    def _route(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if path.startswith("/outputs/") and method == "GET":
            return self._output(path.removeprefix("/outputs/"))
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {"error": "Invalid API key."}, {}
        if not headers.get("x-runway-version"):
            return 400, {"error": "The X-Runway-Version header is required."}, {}
        if method == "POST" and path in ("/v1/text_to_image", "/v1/image_to_video"):
            return self._create(path, body)
        if method == "POST" and path == "/v1/text_to_speech":
            return self._create_speech(body)
        if method == "GET" and path == "/v1/organization":
            return 200, {"creditBalance": self.credit_balance,
                         "tier": {"maxMonthlyCreditSpend": 10_000, "models": {}},
                         "usage": {"models": {}}}, {}
        if path.startswith("/v1/tasks/") and method in ("GET", "DELETE"):
            with self._lock:
                task = self.tasks.get(path.removeprefix("/v1/tasks/"))
                if task is None:
                    return 404, {"error": "Task not found."}, {}
                if method == "DELETE":
                    if task.last_status not in ("SUCCEEDED", "FAILED", "CANCELLED"):
                        task.cancelled = True
                    return 204, None, {}
                return 200, self._advance(task), {}
        return 404, {"error": f"No route {method} {path}."}, {}

    def _create(self, path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        problem = check_create(path, body)
        if problem:
            return 400, {"error": problem}, {}
        kind = "image" if path.endswith("text_to_image") else "video"
        width, _, height = body["ratio"].partition(":")
        with self._lock:
            task = FakeTask(
                id=str(uuid.uuid4()),
                kind=kind,
                body=body,
                size=(int(width), int(height)),
                seconds=int(body.get("duration", 10)),
                script=self._scripts.pop(0) if self._scripts else TaskScript(),
                polls_to_finish=self.polls_to_finish,
                run_seconds=self.task_seconds.get(kind, 0.0),
            )
            self.tasks[task.id] = task
        return 200, {"id": task.id, "estimatedCost": {"credits": task.credits}}, {}

    def _create_speech(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        problem = check_speech(body)
        if problem:
            return 400, {"error": problem}, {}
        with self._lock:
            task = FakeTask(
                id=str(uuid.uuid4()),
                kind="speech",
                body=body,
                size=(0, 0),
                seconds=0,
                script=self._scripts.pop(0) if self._scripts else TaskScript(),
                polls_to_finish=self.polls_to_finish,
                run_seconds=self.task_seconds.get("speech", 0.0),
            )
            self.tasks[task.id] = task
        return 200, {"id": task.id, "estimatedCost": {"credits": task.credits}}, {}

    def _advance(self, task: FakeTask) -> dict[str, Any]:
        """One poll, with the output URL of a task that succeeded."""
        shown = task.advance()
        if shown["status"] == "SUCCEEDED":
            extension = {"image": "png", "video": "mp4", "speech": "mp3"}[task.kind]
            name = f"{task.id}.{extension}"
            if name not in self._outputs:
                size = self.video_size if task.kind == "video" and self.video_size else task.size
                seconds = (
                    speech_seconds(task.body["promptText"]) if task.kind == "speech"
                    else task.seconds
                )
                self._outputs[name] = (task.kind, size, seconds)
            shown["output"] = [f"{self.url}/outputs/{name}"]
        return shown

    def _output(self, name: str) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            spec = self._outputs.get(name)
        if spec is None:
            return 404, {"error": "No such output."}, {}
        kind, size, seconds = spec  # made on first download, outside the state lock
        if kind == "image":
            return 200, png(size).read_bytes(), {"Content-Type": "image/png"}
        if kind == "speech":
            return 200, mp3(seconds).read_bytes(), {"Content-Type": "audio/mpeg"}
        return 200, mp4(size, int(seconds)).read_bytes(), {"Content-Type": "video/mp4"}


def send_reply(
    handler: BaseHTTPRequestHandler,
    record: Recorded,
    status: int,
    body: Any,
    headers: dict[str, str],
) -> None:
    """Answer `status` with `body` (bytes as they are, anything else as JSON), and note the
    status in the request's record."""
    record.status = status
    data = b""
    extra = dict(headers)
    if isinstance(body, bytes):
        data = body
    elif body is not None:
        data = json.dumps(body).encode()
        extra.setdefault("Content-Type", "application/json")
    try:
        handler.send_response(status)
        for key, value in extra.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if data:
            handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up first (a `delay` fault longer than its timeout)
