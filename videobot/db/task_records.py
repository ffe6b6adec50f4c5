"""The write-ahead journal of provider tasks (`provider_tasks`), as `TaskJournal` describes."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from videobot.db.engine import Database
from videobot.db.models import ProviderTask


class TaskRecords:
    db: Database

    def open_task(self, key: str) -> str | None:
        """The task a dead process started for `key` and did not finish, if any."""
        with self.db.session() as s:
            return s.scalar(select(ProviderTask.task_id).where(ProviderTask.key == key))

    def record_task(self, key: str, provider: str, task_id: str) -> None:
        """Written the moment the provider names the task, before it is waited for."""
        try:
            with self.db.session() as s:
                s.add(ProviderTask(key=key, provider=provider, task_id=task_id))
        except IntegrityError:  # a record left by an earlier attempt: the newest task counts
            with self.db.session() as s:
                row = s.get(ProviderTask, key)
                if row is not None:
                    row.provider, row.task_id = provider, task_id

    def close_task(self, key: str) -> None:
        with self.db.session() as s:
            s.execute(delete(ProviderTask).where(ProviderTask.key == key))

    def open_tasks(self, prefix: str) -> list[tuple[str, str, str]]:
        """(key, provider, task id) of the open tasks whose key starts with `prefix` (a job's
        media folder): what a cancel stops."""
        with self.db.session() as s:
            rows = s.execute(
                select(ProviderTask.key, ProviderTask.provider, ProviderTask.task_id).where(
                    ProviderTask.key.startswith(prefix, autoescape=True)
                )
            )
            return [(k, p, t) for k, p, t in rows]
