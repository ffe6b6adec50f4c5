"""A fake OpenAI API on 127.0.0.1: a real HTTP server the real `openai` client talks to.

    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI() as fake:                       # port 0: a free port is chosen
        client = openai.OpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=0)
        ...                                          # or Settings(openai_base_url=fake.base_url)
        fake.requests                                # every request, in arrival order
        fake.requests_to("responses")                # those to one endpoint

Endpoints (POST, under /v1; answered by tests/fakes/openai_routes.py): responses,
chat/completions, images/generations, images/edits (checked against the spec:
tests/fakes/openai_edits.py), audio/speech, audio/transcriptions.
A structured-output request gets an answer generated from its JSON schema (arrays get
`minItems` items, strings readable text); `fake.replies[schema_name] = {...}` fixes the answer
for one schema. A non-strict schema is refused with 400, as OpenAI does. Images are real PNGs
(b64_json) of the requested size; speech is a real WAV (a sine tone, about as long as
the text takes to read; only response_format="wav"); transcription answers `fake.transcript` in
`fake.transcript_language` (None: no language reported).

Faults, queued per endpoint and used one per request, first in first out (`times=` repeats):

    fake.fail("responses", 500)                                   # an error status
    fake.fail("responses", 429, headers={"Retry-After": "7"})     # with headers
    fake.fail("images/generations", 429, code="insufficient_quota")
    fake.delay("audio/speech", 2.0)       # answer after 2 s: a client with a shorter timeout
    fake.drop("responses")                # close the connection without answering
    fake.refuse("chat/completions", times=3)                      # the model refuses
    fake.reply_text("responses", "{not json")     # this raw model output (or transcript)
    fake.reply_wrapped("chat/completions", "```json\n{json}\n```")  # the usual answer, in
                                          # the template at {json}: fences, <think>, prose
    fake.content_filter("responses")      # the answer is stopped by the content filter
    fake.reply_media("audio/speech", b"<html>...")  # these bytes as the audio (or, base64'd,
                                          # as the image of images/generations)

`FakeOpenAI(fault_rate=0.3, seed=1)` also fails that share of the other requests, at random but
reproducibly, with 500, 502, 503 or 429 (retry-after-ms: 10). `api_key="sk-..."` makes any other
key get a 401 whose message echoes the key masked, like OpenAI's. Each Recorded request keeps
method, path, endpoint, headers (lower-case names), json or form and files, the fault used, and
the status and JSON the fake answered (`status`, `reply`). `fake.clear()` forgets both requests
and queued faults.
"""

from __future__ import annotations

import collections
import contextlib
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.fakes import openai_replies as replies
from tests.fakes.openai_replies import Upload
from tests.fakes.openai_routes import (
    ENDPOINTS,
    QueuedFault,
    Recorded,
    answer_request,
    endpoint_name,
)

RANDOM_STATUSES = (500, 502, 503, 429)
_JSON = replies.JSON


class FakeOpenAI:
    def __init__(self, *, fault_rate: float = 0.0, seed: int = 0,
                 api_key: str | None = None) -> None:
        self.fault_rate = fault_rate
        self.api_key = api_key
        self.transcript = "How volcanoes work"
        self.transcript_language: str | None = "en"
        self.replies: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self._rng = random.Random(seed)
        self._faults: dict[str, collections.deque[QueuedFault]] = collections.defaultdict(
            collections.deque
        )
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()  # wakes delayed answers
        self._server.shutdown()
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # Faults -----------------------------------------------------------------------------

    def fail(self, endpoint: str, status: int, *, headers: dict[str, str] | None = None,
             code: str | None = None, message: str | None = None, times: int = 1) -> None:
        fault = QueuedFault("status", status, dict(headers or {}), code, message)
        self._queue(endpoint, fault, times)

    def delay(self, endpoint: str, seconds: float, *, times: int = 1) -> None:
        self._queue(endpoint, QueuedFault("delay", seconds=seconds), times)

    def drop(self, endpoint: str, *, times: int = 1) -> None:
        self._queue(endpoint, QueuedFault("drop"), times)

    def refuse(self, endpoint: str, *, times: int = 1) -> None:
        self._queue(endpoint, QueuedFault("refusal"), times)

    def reply_text(self, endpoint: str, text: str, *, times: int = 1) -> None:
        self._queue(endpoint, QueuedFault("text", text=text), times)

    def reply_wrapped(self, endpoint: str, template: str, *, times: int = 1) -> None:
        """Answer as usual, but with the JSON put in `template` at `{json}`, the way servers
        that do not enforce the schema write it."""
        self._queue(endpoint, QueuedFault("wrap", text=template), times)

    def reply_media(self, endpoint: str, data: bytes, *, times: int = 1) -> None:
        """Answer 200 with `data` as the speech, or as the picture's b64_json bytes."""
        self._queue(endpoint, QueuedFault("media", text=data.decode("latin-1")), times)

    def content_filter(self, endpoint: str, *, times: int = 1) -> None:
        self._queue(endpoint, QueuedFault("filter"), times)

    def requests_to(self, endpoint: str) -> list[Recorded]:
        name = endpoint_name(endpoint)
        with self._lock:
            return [r for r in self.requests if r.endpoint == name]

    def clear(self) -> None:
        """Forget recorded requests and queued faults."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def _queue(self, endpoint: str, fault: QueuedFault, times: int) -> None:
        name = endpoint_name(endpoint)
        if name not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        with self._lock:
            self._faults[name].extend([fault] * times)

    def _next_fault(self, endpoint: str) -> QueuedFault | None:
        with self._lock:
            queued = self._faults.get(endpoint)
            if queued:
                return queued.popleft()
            if self.fault_rate and self._rng.random() < self.fault_rate:
                status = self._rng.choice(RANDOM_STATUSES)
                headers = {"retry-after-ms": "10"} if status == 429 else {}
                return QueuedFault("status", status, headers)
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

    @property
    def fake(self) -> FakeOpenAI:
        return self.server.fake  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/v1/models":  # what `videobot doctor` asks
            self._json(200, {"object": "list", "data": []})
            return
        self._json(404, replies.error_body(404, "Unknown path.", None))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        path = self.path.split("?", 1)[0]
        record = Recorded("POST", path, endpoint_name(path),
                          {k.lower(): v for k, v in self.headers.items()})
        self._parse_body(record, body)
        with self.fake._lock:
            self.fake.requests.append(record)
        fault = None
        answer: tuple[int, dict[str, Any], dict[str, str]] | None
        if record.endpoint not in ENDPOINTS:
            answer = 404, replies.error_body(404, f"Unknown path {path}.", None), {}
        elif (refused := self._unauthorized()) is not None:
            answer = 401, refused, {}
        elif (fault := self.fake._next_fault(record.endpoint)) and fault.kind == "status":
            answer = fault.status, replies.error_body(fault.status, fault.message, fault.code), \
                fault.headers
        else:
            answer = None
        record.fault = fault.label if fault else None
        if answer is not None:
            record.status, record.reply = answer[0], answer[1]
            self._send(answer[0], replies.dumps(answer[1]), _JSON, answer[2])
            return
        if fault and fault.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault and fault.kind == "delay" and self.fake._closing.wait(fault.seconds):
            return
        status, payload, content_type = answer_request(self.fake, record, len(body), fault)
        record.status = status
        record.reply = replies.loads(payload) if content_type == _JSON else None
        self._send(status, payload, content_type)

    def _parse_body(self, record: Recorded, body: bytes) -> None:
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            record.json = replies.loads(body)
        elif content_type.startswith("multipart/form-data"):
            record.form, record.files = replies.parse_multipart(content_type, body)
            record.uploads = [(name, part) for name, part
                              in replies.multipart_parts(content_type, body)
                              if isinstance(part, Upload)]

    def _unauthorized(self) -> dict[str, Any] | None:
        header = self.headers.get("authorization", "")
        key = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if key and (self.fake.api_key is None or key == self.fake.api_key):
            return None
        masked = f"{key[:3]}{'*' * 8}{key[-4:]}" if key else "(none)"
        message = f"Incorrect API key provided: {masked}. You can find your API key at " \
                  "https://platform.openai.com/account/api-keys."
        return replies.error_body(401, message, "invalid_api_key")

    def _json(self, status: int, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        self._send(status, replies.dumps(body), "application/json", headers)

    def _send(self, status: int, payload: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.send_header("x-request-id", replies.new_id("req"))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client gave up (timed out) before the answer
            self.close_connection = True
