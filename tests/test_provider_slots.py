"""A process's share of a provider cap: handed from call to call, always given back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from tasks.provider_slots import ProviderSlots
from tests.helpers import wait_for

LIMIT = "test-provider-slots"


@pytest.fixture
def limit(prefect_server: str) -> Iterator[str]:
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=LIMIT, limit=2))
        try:
            yield LIMIT
        finally:
            client.delete_global_concurrency_limit_by_name(LIMIT)


def _active_slots() -> int:
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(LIMIT).active_slots


def test_calls_share_the_cap_and_every_slot_goes_back(limit: str) -> None:
    """Eight calls through a cap of two: never more than two at once, two most of the time,
    never more than two slots taken on the server, and none left taken afterwards."""
    pool = ProviderSlots(limit, 2)
    inside = peak = 0
    server_peak = 0
    lock = threading.Lock()
    done = threading.Event()

    def call() -> None:
        nonlocal inside, peak
        with pool.slot():
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.3)
            with lock:
                inside -= 1

    def watch() -> None:
        nonlocal server_peak
        while not done.is_set():
            server_peak = max(server_peak, _active_slots())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    calls = [threading.Thread(target=call) for _ in range(8)]
    for thread in calls:
        thread.start()
    for thread in calls:
        thread.join()
    elapsed = time.monotonic() - started
    done.set()
    watcher.join()
    assert peak == 2 and 1 <= server_peak <= 2
    assert elapsed < 8 * 0.3, "two calls ran at a time"
    wait_for(lambda: _active_slots() == 0, timeout=10, what="every slot given back")


def test_a_call_that_fails_gives_its_slot_back(limit: str) -> None:
    pool = ProviderSlots(limit, 2)
    with pytest.raises(ValueError), pool.slot():
        raise ValueError("the provider said no")
    assert _active_slots() == 0
    with pool.slot():
        assert _active_slots() == 1
    assert _active_slots() == 0
