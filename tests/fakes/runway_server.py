"""A fake Runway API on 127.0.0.1 that the real `runwayml` SDK talks to over HTTP.

    from tests.fakes.runway_server import DAILY_CAP_BODY, FakeRunway

    @pytest.fixture
    def runway() -> Iterator[FakeRunway]:
        with FakeRunway() as server:  # a free port; server.url is the SDK's base_url
            yield server

    settings = Settings(runwayml_api_secret=SecretStr(FakeRunway.API_KEY),
                        runwayml_base_url=runway.url, ...)

Routes: POST /v1/text_to_image, POST /v1/image_to_video, POST /v1/text_to_speech, GET and
DELETE /v1/tasks/{id}, and GET /outputs/{name}: what a task produced, real media: a PNG at the
ratio's pixel size, a 24 fps H.264 MP4 of the requested duration (ffmpeg testsrc2, made once
per size and cached), or an MP3 lasting SPEECH_CHARS_PER_SECOND per character of promptText.
Speech bodies are checked per model (fields, promptText, voice {"type": "runway-preset",
"presetId": a preset of the API spec}).
Requests need `Authorization: Bearer <API_KEY>` and `X-Runway-Version`; bodies are checked
(model, promptText, ratio "W:H", promptImage / referenceImages as https URL or image data URI
of at most 5 MiB): 401 or 400 otherwise, as Runway answers.

Progress: a task answers PENDING then RUNNING for `polls_to_finish` polls in all (default 0:
the first poll finds it finished), then its outcome; `task_seconds` (per kind, default none)
also keeps a task RUNNING until that long after it was made, for real latency:

    server.task_seconds = {"image": 2.0, "video": 5.0}

DELETE cancels a task still running.

Inspect: `requests` (every request: method, path, lower-case headers, JSON body, status
answered), `calls(method, path_prefix)`, `created(kind)` (tasks made), `tasks` by id.

Faults:
    server.fail("/v1/text_to_image", status=500)                      # the next request there
    server.fail("/v1/text_to_image", status=429, headers={"Retry-After": "7"}, times=2)
    server.fail("/v1/image_to_video", status=429, body=DAILY_CAP_BODY)
    server.fail("/v1/tasks/*", delay=2.0)         # answers after 2 s, then handles it normally
    server.script_task(status="FAILED", failure_code="SAFETY.INPUT.TEXT")  # the next task made
    server.script_task(status="CANCELLED")
    server.script_task(throttled_polls=3)         # THROTTLED for 3 polls, then as usual
    server.fault_rate = 0.3                       # that share of requests answer 500/502/503/429
    server.seed(7)                                #   (seeded; 429s carry Retry-After: 1)
    server.fault_paths = ("/v1/",)                #   where fault_rate applies (default: all)
    server.video_size = (1104, 832)               # clips at this size whatever the ratio

tests/fakes/runway_routes.py answers the routes, runway_tasks.py checks bodies and makes the
media, and runway_kit.py wires the providers to it with a clock that never really sleeps.
"""

from __future__ import annotations

import json
import random
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.fakes.runway_routes import CREATE_PATHS, Recorded, RunwayRoutes, send_reply
from tests.fakes.runway_tasks import FakeTask, TaskScript

DAILY_CAP_BODY = {"error": "Your daily task limit has been reached."}
_RANDOM_FAULTS = (500, 502, 503, 429)


@dataclass
class ScriptedFault:
    pattern: str  # a path, or a prefix ending in "*"
    method: str | None
    status: int | None
    headers: dict[str, str]
    body: Any
    delay: float
    times: int

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.pattern.endswith("*"):
            return path.startswith(self.pattern[:-1])
        return path == self.pattern


def _client_gone(handler: _Handler) -> bool:
    """The client closed its connection (a killed process's sockets are closed by the
    kernel): readable with nothing to read."""
    sock = handler.connection
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class FakeRunway(RunwayRoutes):
    """The fake server; a context manager that starts and stops it."""

    API_KEY = "key_" + "0" * 128

    def __init__(self, *, polls_to_finish: int = 0, api_key: str = API_KEY) -> None:
        super().__init__(polls_to_finish=polls_to_finish, api_key=api_key)
        self.fault_rate = 0.0
        self.fault_paths: tuple[str, ...] = ("/v1/", "/outputs/")
        self.requests: list[Recorded] = []
        self._faults: list[ScriptedFault] = []
        self._rng = random.Random(0)
        self._delays_over = threading.Event()
        # Creates on hold (`creates_held`), and creates being answered: a hold waits for those.
        self._creates = threading.Condition()
        self._creates_on_hold = False
        self._creates_answering = 0
        self._creates_held_before = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        # A short poll interval makes shutdown quick (serve_forever checks it that often).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeRunway:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._delays_over.set()  # wakes handlers sleeping in a `delay` fault
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # Scripting.
    def fail(
        self,
        pattern: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """The next `times` requests matching `pattern` answer `status` (and/or late)."""
        with self._lock:
            self._faults.append(
                ScriptedFault(pattern, method, status, headers or {}, body, delay, times)
            )

    def end_delays(self) -> None:
        """Answer now every request sleeping in a `delay` fault, and any later one at once."""
        self._delays_over.set()

    def script_task(self, **outcome: Any) -> None:
        """The next task created ends as told (TaskScript fields)."""
        with self._lock:
            self._scripts.append(TaskScript(**outcome))

    @contextmanager
    def creates_held(self) -> Iterator[None]:
        """Task creations wait, not yet made, while inside. Entering waits until the creates
        already past the door are answered, so inside, every task made is one its client has
        heard of. On leaving, a waiting create whose client has gone (its process killed) is
        dropped: it never reached the provider.

        So is, from then on, a create the server reads only after its client has gone. A
        process killed inside the hold may have sent a create that the server, busy, reads
        only after the hold (the request waits in the socket, or its connection in the listen
        backlog): it would be made for no one to hear of it, the journal's known window that
        the hold exists to keep out (seen under load: 51 clip tasks for 50 clips)."""
        with self._creates:
            self._creates_on_hold = True
            self._creates.wait_for(lambda: self._creates_answering == 0)
        try:
            yield
        finally:
            with self._creates:
                self._creates_on_hold = False
                self._creates_held_before = True
                self._creates.notify_all()

    def seed(self, value: int) -> None:
        with self._lock:
            self._rng = random.Random(value)

    # Inspection.
    def calls(self, method: str | None = None, path_prefix: str = "") -> list[Recorded]:
        with self._lock:
            return [
                r for r in self.requests
                if (method is None or r.method == method) and r.path.startswith(path_prefix)
            ]

    def created(self, kind: str | None = None) -> list[FakeTask]:
        with self._lock:
            return [t for t in self.tasks.values() if kind is None or t.kind == kind]

    # Serving.
    def handle(self, handler: _Handler, method: str) -> None:
        path = handler.path.split("?", 1)[0]
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in handler.headers.items()}
        record = Recorded(method, path, headers, body)
        with self._lock:
            self.requests.append(record)
            fault = self._take_fault(method, path)
            random_status = self._random_fault(path)
        if fault is not None and fault.delay:
            self._delays_over.wait(fault.delay)
        if fault is not None and fault.status is not None:
            reply_body = fault.body if fault.body is not None else {"error": "Fake fault."}
            return send_reply(handler, record, fault.status, reply_body, fault.headers)
        if random_status is not None:
            retry = {"Retry-After": "1"} if random_status == 429 else {}
            return send_reply(handler, record, random_status, {"error": "Try again."}, retry)
        if method == "POST" and path in CREATE_PATHS:
            if not self._create_admitted(handler):
                return
            try:
                status, reply, extra = self._route(method, path, headers, body)
                send_reply(handler, record, status, reply, extra)
            finally:
                with self._creates:
                    self._creates_answering -= 1
                    self._creates.notify_all()
            return
        status, reply, extra = self._route(method, path, headers, body)
        send_reply(handler, record, status, reply, extra)

    def _create_admitted(self, handler: _Handler) -> bool:
        """Wait while creates are on hold; False for a create whose client went meanwhile, or
        was already gone when read after a hold."""
        with self._creates:
            waited = self._creates_on_hold or self._creates_held_before
            self._creates.wait_for(lambda: not self._creates_on_hold)
            if waited and _client_gone(handler):
                return False
            self._creates_answering += 1
            return True

    def _take_fault(self, method: str, path: str) -> ScriptedFault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _random_fault(self, path: str) -> int | None:
        if self.fault_rate <= 0 or not path.startswith(self.fault_paths):
            return None
        if self._rng.random() >= self.fault_rate:
            return None
        return self._rng.choice(_RANDOM_FAULTS)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self.server.fake.handle(self, "GET")  # type: ignore[attr-defined]

    def do_POST(self) -> None:  # noqa: N802
        self.server.fake.handle(self, "POST")  # type: ignore[attr-defined]

    def do_DELETE(self) -> None:  # noqa: N802
        self.server.fake.handle(self, "DELETE")  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass
