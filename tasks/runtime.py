"""What tasks share in one process: settings, the job store, providers, the media layout and
the media store."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from prefect.cache_policies import NO_CACHE

from videobot.channels import Channel, TerminalChannel, build_channel, register_channel
from videobot.db.engine import Database
from videobot.db.store import JobStore
from videobot.media.paths import MediaLayout
from videobot.media.scratch import Scratch, StoreKeyedJournal
from videobot.media.store import MediaStore, open_media_store
from videobot.model_currency import check_model_currency
from videobot.providers.base import ProviderError
from videobot.providers.registry import Providers, build_providers
from videobot.settings import Settings, get_settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    store: JobStore
    providers: Providers
    media: MediaLayout  # store keys
    files: MediaStore
    journal: StoreKeyedJournal  # provider tasks written ahead, crossed off once kept

    def channel(self, kind: str) -> Channel:
        return build_channel(kind)

    def scratch(self) -> Scratch:
        """Local copies for one step, emptied when it ends."""
        return Scratch(self.files, self.settings.scratch_dir, journal=self.journal)

    def existing(self, ref: str | None) -> str | None:
        """`ref` (a store key, or an older row's file path) when its medium exists."""
        return ref if ref and self.files.exists(ref) else None


def _telegram_channel() -> Channel:
    # Imported on first use: only processes that talk to Telegram load the Bot API client.
    from videobot.telegram import telegram_channel

    return telegram_channel(runtime())


register_channel("telegram", _telegram_channel)
# The terminal shows where each medium is: a file path, or the bucket's URL.
register_channel("terminal", lambda: TerminalChannel(locate=runtime().files.locate))


_building = threading.Lock()


def runtime() -> Runtime:
    """Built once per process, on first use; the schema is migrated then. Threads that ask
    at the same moment (mapped tasks, bot handlers) wait for the one build: two migrations
    at once would race on the schema."""
    with _building:
        return _build_runtime()


@lru_cache(maxsize=1)
def _build_runtime() -> Runtime:
    settings = get_settings()
    settings.require_keys()
    for warning in check_model_currency(settings, date.today()):
        logging.getLogger(__name__).warning("Model shutting down soon: %s", warning)
    db = Database(settings.db_url)
    db.migrate()
    store = JobStore(db)
    # Provider tasks are written ahead under store keys, so a task that a worker which died
    # had started is found by whichever worker takes the job up.
    journal = StoreKeyedJournal(store, settings.scratch_dir)
    return Runtime(
        settings=settings,
        store=store,
        providers=build_providers(settings, journal=journal),
        media=MediaLayout(),
        files=open_media_store(settings),
        journal=journal,
    )


class JobEnded(Exception):
    """The job ended (cancelled or expired) while its run started, queued for a slot, or was
    about to pay a provider."""


class Superseded(Exception):
    """A newer attempt of the job's run took the job up while this one still worked on it
    (`tasks.attempts`): this one stops and changes nothing."""


def not_provider_errors(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only unexpected errors: a ProviderError was already retried in the provider layer,
    so retrying it here would multiply attempts (and spend); an ended job, or one another
    attempt works on, is not worked on."""
    error = state.data if isinstance(state.data, BaseException) else None
    return not isinstance(error, ProviderError | JobEnded | Superseded)


# Prefect's task cache is off on every task: the job's replay record (finished stages, gate
# rows, scene rows) is the one way work is not done twice. With the cache on, a second
# identical call in a run (a progress line with the same text) would end "Cached" unrun.
ONCE = {"cache_policy": NO_CACHE}
RETRIES = {
    "retries": 2,
    "retry_delay_seconds": [2, 10],
    "retry_condition_fn": not_provider_errors,
    **ONCE,
}
