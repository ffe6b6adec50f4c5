"""The three gated stages: make, show, decide, and redo only what the person asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import unmapped
from prefect.futures import PrefectFutureList, wait

from flows.gates import await_decision
from tasks.budget import NotAffordable, ensure_affordable, ensure_runway_credits
from tasks.limits import JobSlot
from tasks.media import contact_sheet, make_clip, make_image
from tasks.messages import notify, present
from tasks.runtime import runtime
from tasks.script import write_script
from videobot.db.store import first_round, style_of, unready_scenes
from videobot.formats import SCENE_COUNT
from videobot.messages import stage_failure_text
from videobot.providers.base import ProviderError, Reference
from videobot.script import Script
from videobot.style import StyleSheet, parse_style


class StageFailed(Exception):
    """A stage that cannot go on and that no person will decide (auto-approve), or that the
    budgets cannot pay; its message is the one line the person reads."""


def script_stage(job_id: UUID, channel: str, auto_approve: bool, slot: JobSlot) -> Script | None:
    """The approved script (with its style sheet), or None when the person cancels."""
    store = runtime().store
    attempt, feedback = first_round(store.job(job_id), "script"), None
    while True:
        if _shown(job_id, "script", attempt):
            script = store.script_of(store.job(job_id))
            assert script is not None, "a script gate was shown, so its script is recorded"
        else:
            slot.take()
            _affordable(job_id, "script")
            script = write_script(job_id, attempt, feedback)
            present(job_id, "script", attempt, channel, None)
        decision = await_decision(job_id, "script", attempt, auto_approve=auto_approve, slot=slot)
        if decision.action == "approve":
            return script
        if decision.action == "cancel":
            return None
        if decision.action == "regenerate":
            feedback = decision.feedback
        elif decision.action == "edit" and decision.part == "style" and decision.text:
            edited = script.model_copy(update={"style": parse_style(decision.text, script.style)})
            store.save_script(job_id, edited, attempt + 1)
        elif decision.action == "edit" and decision.part and decision.text:
            edited = script.model_copy(update={decision.part: decision.text.strip()})
            store.save_script(job_id, edited, attempt + 1)
        attempt += 1


def media_stage(job_id: UUID, kind: str, channel: str, auto_approve: bool, slot: JobSlot
                ) -> bool:
    """Images or clips for all ten scenes, approved; False when the person cancels.

    A scene whose provider call failed for good is shown at the gate with its reason, even
    when every scene failed; the person can redo it or edit its prompt, and approval waits
    until every scene has media. With auto-approve no one can, so the stage fails in one line.
    A rerun's first round makes only the scenes it discarded; its rounds carry on the numbers.
    """
    store = runtime().store
    attempt = first_round(store.job(job_id), kind)

    def unready() -> list[int]:
        return unready_scenes(store.segments(job_id), kind)

    todo = unready()
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


def _affordable(job_id: UUID, stage: str, scenes: int = SCENE_COUNT) -> None:
    """The budgets pay for `stage`, or it is not started and the job stops with the reason."""
    try:
        ensure_affordable(job_id, stage, scenes)
    except NotAffordable as exc:
        raise StageFailed(str(exc)) from None


def _make(job_id: UUID, kind: str, channel: str, todo: list[int], attempt: int) -> None:
    """Make the scenes in `todo` concurrently; stop on anything but a provider failure.

    Pictures are drawn after the person's photo, and every scene but the first after the first
    scene's picture: when the first is in `todo` it is made first, in this round."""
    if not todo:
        return
    _affordable(job_id, kind, len(todo))
    notify(job_id, channel, f"Making {kind}: {len(todo)} of {SCENE_COUNT} scenes…")
    if kind == "clips":
        try:
            ensure_runway_credits(job_id, len(todo))
        except NotAffordable as exc:
            raise StageFailed(str(exc)) from None
        _finish(make_clip.map(unmapped(job_id), todo, unmapped(attempt)))
        return
    style = style_of(runtime().store.job(job_id))
    photo = _photo(job_id)
    rest = [scene for scene in todo if scene != 0]
    if 0 not in todo:
        _finish(_draw(job_id, rest, attempt, photo, style, look=_first_picture(job_id)))
        return
    first = make_image.submit(job_id, 0, attempt, photo, style, None)
    # The other scenes take the first scene's picture as it is made: their task runs are
    # created now, and each starts the moment that picture exists (Prefect resolves the future
    # they are given), not when this flow next looks. A first scene that failed leaves them
    # NotReady, unstarted: Prefect's own rule for a failed upstream.
    others = _draw(job_id, rest, attempt, photo, style, look=first)
    _finish([first])  # a fault stops the stage here, before any other scene is paid for
    if first.state.is_failed():  # refused by the provider: the others are drawn without it
        wait(others)
        others = _draw(job_id, rest, attempt, photo, style, look=None)
    _finish(others)


def _draw(job_id: UUID, scenes: list[int], attempt: int, photo: list[Reference],
          style: StyleSheet | None, look: Any) -> PrefectFutureList[Any]:
    """The pictures of `scenes`, drawn at once, after `photo` and the first scene's picture
    `look` (its store key, its future, or None)."""
    if not scenes:
        return PrefectFutureList([])
    return make_image.map(unmapped(job_id), scenes, unmapped(attempt), unmapped(photo),
                          unmapped(style), unmapped(look))


def _photo(job_id: UUID) -> list[Reference]:
    """The person's photo, when they gave one: every scene is drawn after it. References are
    media-store keys, fetched by the task."""
    rt = runtime()
    path = rt.store.job(job_id).reference_path
    return [Reference(Path(path), "photo")] if path and rt.files.exists(path) else []


def _first_picture(job_id: UUID) -> str | None:
    """The first scene's picture, kept through redos: the look of the other scenes."""
    rt = runtime()
    first = rt.store.segments(job_id)[0]
    if first.image_status == "ready" and first.image_path and rt.files.exists(first.image_path):
        return first.image_path
    return None


def _finish(futures: PrefectFutureList[Any]) -> None:
    """Wait for the scenes; a provider failure is the person's to judge at the gate, anything
    else is a fault."""
    wait(futures)
    for future in futures:
        if future.state.is_failed():
            error = future.state.result(raise_on_failure=False)
            if not isinstance(error, ProviderError):
                raise error if isinstance(error, BaseException) else RuntimeError(str(error))
