"""One process's share of a provider's cap, held on the Prefect server and passed hand to hand.

Every call needs a slot of the server's `provider-<name>` limit, so every worker together stays
under the cap. Taking and giving back a server slot per call costs two writes on the Prefect
server; on SQLite, under the writes of a running flow, a write can wait a second or two for the
database lock, and a denied request sleeps for the server's Retry-After: either leaves a paid
slot idle between two calls. So within one process:

- calls queue on a local semaphore of the cap's size first (a waiter starts the moment a peer
  finishes, with no polling);
- a call that ends while another call of this process waits hands its server slot straight to
  it instead of giving it back; with no one waiting, the slot goes back to the server at once.

Leases are renewed by one thread per pool while held, so a process that dies frees its slots
when its leases expire (`LEASE_SECONDS`).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from uuid import UUID

from prefect import get_client

from tasks.prefect_calls import request_promptly

LEASE_SECONDS = 300.0
RENEW_EVERY_SECONDS = 60.0
MAX_RETRY_SECONDS = 1.0  # a denied request tries again after at most this long

log = logging.getLogger(__name__)


class LimitMissing(RuntimeError):
    """The limit does not exist on the Prefect server: calls are refused, not left uncapped."""


class ProviderSlots:
    def __init__(self, limit_name: str, size: int) -> None:
        self.limit_name = limit_name
        self.size = size
        self._local = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._requesting = threading.Lock()
        self._waiting = 0
        self._idle: list[UUID] = []  # held on the server, free for the next call here
        self._held: set[UUID] = set()  # every lease held (idle or in use), for renewal
        self._renewer: threading.Thread | None = None

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot of the cap for the duration of one call."""
        with self._lock:
            self._waiting += 1
        try:
            self._local.acquire()
        finally:
            with self._lock:
                self._waiting -= 1
        lease: UUID | None = None
        try:
            with self._lock:
                lease = self._idle.pop() if self._idle else None
            if lease is None:
                lease = self._acquire()
            yield
        finally:
            if lease is not None:
                self._park(lease)
            self._local.release()

    def _park(self, lease: UUID) -> None:
        """Keep the slot for a call of this process that waits for one, or give it back."""
        with self._lock:
            if self._waiting > 0:
                self._idle.append(lease)
                return
            self._held.discard(lease)
        self._release(lease)

    def _acquire(self) -> UUID:
        while True:
            # One request at a time per process: concurrent writes to a SQLite-backed server
            # wait on its database lock, and a queue of them starts later than a sequence.
            with self._requesting:
                response = request_promptly(
                    "POST",
                    "/v2/concurrency_limits/increment-with-lease",
                    json={
                        "names": [self.limit_name],
                        "slots": 1,
                        "mode": "concurrency",
                        "lease_duration": LEASE_SECONDS,
                    },
                )
            if response.status_code == 423:  # every slot is taken
                wait = float(response.headers.get("Retry-After") or MAX_RETRY_SECONDS)
                time.sleep(min(wait, MAX_RETRY_SECONDS))
                continue
            response.raise_for_status()
            body = response.json()
            if not body.get("limits"):
                self._release(UUID(body["lease_id"]))  # a lease on nothing: no use to anyone
                raise LimitMissing(
                    f"the concurrency limit {self.limit_name!r} does not exist on the Prefect "
                    "server; it is created when the serving process or `videobot` starts"
                )
            lease = UUID(body["lease_id"])
            with self._lock:
                self._held.add(lease)
                self._start_renewer()
            return lease

    def _release(self, lease: UUID) -> None:
        try:
            request_promptly(
                "POST", "/v2/concurrency_limits/decrement-with-lease", json={"lease_id": str(lease)}
            ).raise_for_status()
        except Exception as exc:  # the lease expires on its own; the call itself succeeded
            log.warning("could not give back a %s slot: %s", self.limit_name, exc)

    def _start_renewer(self) -> None:
        if self._renewer is None or not self._renewer.is_alive():
            # The thread sees this one's settings (the Prefect API URL may be a test's or a
            # local server's, set in a context variable rather than the environment).
            context = contextvars.copy_context()
            self._renewer = threading.Thread(
                target=context.run,
                args=(self._renew_while_held,),
                name=f"renew-{self.limit_name}",
                daemon=True,
            )
            self._renewer.start()

    def _renew_while_held(self) -> None:
        while True:
            time.sleep(RENEW_EVERY_SECONDS)
            with self._lock:
                leases = list(self._held)
                if not leases:
                    self._renewer = None
                    return
            for lease in leases:
                try:
                    with get_client(sync_client=True) as client:
                        client.renew_concurrency_lease(lease_id=lease, lease_duration=LEASE_SECONDS)
                except Exception as exc:
                    log.warning("could not renew a %s slot: %s", self.limit_name, exc)
