"""What tasks share in one process: settings, the job store, providers, the media layout."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from videobot.channels import Channel, build_channel
from videobot.db.engine import Database
from videobot.db.store import JobStore
from videobot.media.paths import MediaLayout
from videobot.providers.base import ProviderError
from videobot.providers.registry import Providers, build_providers
from videobot.settings import Settings, get_settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    store: JobStore
    providers: Providers
    media: MediaLayout

    def channel(self, kind: str) -> Channel:
        return build_channel(kind)


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    """Built once per process, on first use; the schema is migrated then."""
    settings = get_settings()
    settings.require_keys()
    db = Database(settings.db_url)
    db.migrate()
    return Runtime(
        settings=settings,
        store=JobStore(db),
        providers=build_providers(settings),
        media=MediaLayout(settings.media_dir),
    )


def not_provider_errors(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only unexpected errors: a ProviderError was already retried in the provider layer,
    so retrying it here would multiply attempts (and spend)."""
    error = state.data if isinstance(state.data, BaseException) else None
    return not isinstance(error, ProviderError)


RETRIES = {"retries": 2, "retry_delay_seconds": [2, 10], "retry_condition_fn": not_provider_errors}
