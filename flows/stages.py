"""The three gated stages: make, show, decide, and redo only what the person asked for."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import unmapped
from prefect.futures import PrefectFutureList, wait

from flows.gates import await_decision
from tasks.limits import JobSlot
from tasks.media import contact_sheet, make_clip, make_image
from tasks.messages import notify, present
from tasks.runtime import runtime
from tasks.script import write_script
from videobot.db.store import unready_scenes
from videobot.formats import SCENE_COUNT
from videobot.messages import stage_failure_text
from videobot.providers.base import ProviderError
from videobot.script import Script


def script_stage(job_id: UUID, channel: str, auto_approve: bool, slot: JobSlot) -> Script | None:
    """The approved script, or None when the person cancels."""
    store = runtime().store
    attempt, feedback = 1, None
    while True:
        if _shown(job_id, "script", attempt):
            script = store.script_of(store.job(job_id))
            assert script is not None, "a script gate was shown, so its script is recorded"
        else:
            slot.take()
            script = write_script(job_id, attempt, feedback)
            present(job_id, "script", attempt, channel, None)
        decision = await_decision(job_id, "script", attempt, auto_approve=auto_approve, slot=slot)
        if decision.action == "approve":
            return script
        if decision.action == "cancel":
            return None
        if decision.action == "regenerate":
            feedback = decision.feedback
        elif decision.action == "edit" and decision.part and decision.text:
            edited = script.model_copy(update={decision.part: decision.text.strip()})
            store.save_script(job_id, edited, attempt + 1)
        attempt += 1


class StageFailed(Exception):
    """A stage that cannot go on and that no person will decide (auto-approve); its message
    is the one line the person reads."""


def media_stage(job_id: UUID, kind: str, channel: str, auto_approve: bool, slot: JobSlot
                ) -> bool:
    """Images or clips for all ten scenes, approved; False when the person cancels.

    A scene whose provider call failed for good is shown at the gate with its reason, even
    when every scene failed; the person can redo it or edit its prompt, and approval waits
    until every scene has media. With auto-approve no one can, so the stage fails in one line.
    """
    store = runtime().store
    attempt, todo = 1, list(range(SCENE_COUNT))

    def unready() -> list[int]:
        return unready_scenes(store.segments(job_id), kind)

    while True:
        if not _shown(job_id, kind, attempt):
            slot.take()
            store.set_stage(job_id, kind)
            _make(job_id, kind, channel, todo, attempt)
            if not (auto_approve and unready()):
                sheet = contact_sheet(job_id, kind, attempt)
                present(job_id, kind, attempt, channel, sheet)
        if auto_approve and unready():
            raise StageFailed(stage_failure_text(kind, store.segments(job_id)))
        decision = await_decision(
            job_id, kind, attempt, auto_approve=auto_approve, slot=slot, unready=unready
        )
        if decision.action == "approve":
            return True
        if decision.action == "cancel":
            return False
        if decision.action == "edit" and decision.scene is not None and decision.text:
            field = "image_prompt" if kind == "images" else "motion_prompt"
            store.update_segment(job_id, decision.scene - 1, **{field: decision.text.strip()})
        todo = decision.scene_indexes()
        attempt += 1


def _shown(job_id: UUID, stage: str, attempt: int) -> bool:
    """The gate's content was made and shown before (this run was resumed, or rerun): skip
    straight to its decision instead of replaying every step, which costs a resume seconds."""
    gate = runtime().store.gate(job_id, stage, attempt)
    return gate is not None and gate.presented_at is not None


def _make(job_id: UUID, kind: str, channel: str, todo: list[int], attempt: int) -> None:
    """Make the scenes in `todo` concurrently; stop on anything but a provider failure."""
    if todo:
        notify(job_id, channel, f"Making {kind}: {len(todo)} of {SCENE_COUNT} scenes…")
        make = make_image if kind == "images" else make_clip
        extra = [unmapped(_reference_image(job_id, todo))] if kind == "images" else []
        futures = make.map(unmapped(job_id), todo, unmapped(attempt), *extra)
        wait(futures)
        _raise_unexpected(futures)


def _reference_image(job_id: UUID, todo: list[int]) -> str | None:
    """On a redo, the first scene's picture (kept, not redone) anchors the look of the rest."""
    if 0 in todo:
        return None
    first = runtime().store.segments(job_id)[0]
    return first.image_path if first.image_status == "ready" else None


def _raise_unexpected(futures: PrefectFutureList[Any]) -> None:
    """A provider failure is the person's to judge at the gate; anything else is a fault."""
    for future in futures:
        if future.state.is_failed():
            error = future.state.result(raise_on_failure=False)
            if not isinstance(error, ProviderError):
                raise error if isinstance(error, BaseException) else RuntimeError(str(error))
