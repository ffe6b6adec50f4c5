"""Turn a line typed at a gate prompt into a Decision."""

from __future__ import annotations

from videobot.decisions import SCRIPT_PARTS, Action, Decision, over_length, parse_scene_numbers
from videobot.requests import InvalidRequest

_ALIASES: dict[str, Action] = {
    "a": "approve", "approve": "approve", "ok": "approve", "y": "approve", "yes": "approve",
    "c": "cancel", "cancel": "cancel",
    "r": "redo", "redo": "redo", "regenerate": "redo",
    "e": "edit", "edit": "edit",
}


def parse_gate_line(stage: str, line: str, decided_by: str) -> Decision:
    """Parse `a`, `c`, `r 3,5` / `r <feedback>` (script), `e intro <text>` / `e 3 <prompt>`."""
    word, _, rest = line.strip().partition(" ")
    action = _ALIASES.get(word.lower())
    rest = rest.strip()
    if action is None:
        raise InvalidRequest(f"'{word}' is not a choice here")
    if action == "approve" or action == "cancel":
        return Decision.make(action, decided_by)
    if action == "redo" and stage == "script":
        if not rest:
            raise InvalidRequest("say what to change, e.g.: r shorter and funnier")
        _fits(feedback=rest)
        return Decision.make("regenerate", decided_by, feedback=rest)
    if action == "redo":
        try:
            return Decision.make("redo", decided_by, scenes=parse_scene_numbers(rest))
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
    target, _, text = rest.partition(" ")
    example = {"script": "e intro <new text>", "clips": "e 3 <motion>"}.get(
        stage, "e 3 <new prompt>")
    if not text.strip():
        raise InvalidRequest(f"edit needs what to edit and the new text, e.g.: {example}")
    _fits(text=text.strip())
    if stage == "script":
        if target not in SCRIPT_PARTS:
            raise InvalidRequest("the part to edit is intro, main, outro or style")
        return Decision.make("edit", decided_by, part=target, text=text.strip())
    try:
        (scene,) = parse_scene_numbers(target)
    except ValueError:
        raise InvalidRequest(f"edit one scene at a time, e.g.: {example}") from None
    return Decision.make("edit", decided_by, scene=scene, text=text.strip())


def _fits(**words: str) -> None:
    problem = over_length(**words)
    if problem is not None:
        raise InvalidRequest(problem)
