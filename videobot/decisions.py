"""A person's decision at an approval gate, and the rules that make it valid for a stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field

from videobot.formats import SCENE_COUNT, SECTIONS
from videobot.script import count_words, word_budget
from videobot.style import parse_style

if TYPE_CHECKING:
    from videobot.budget import Shortfall

GATE_STAGES = ("script", "images", "clips")
# What an edit at the script gate may replace: a part of the narration, or the style sheet.
SCRIPT_PARTS = ("intro", "main", "outro", "style")
ScriptPart = Literal["intro", "main", "outro", "style"]
SECTION_PARTS = ("intro", "main", "outro")
Action = Literal["approve", "regenerate", "redo", "edit", "cancel"]
SceneNumber = Annotated[int, Field(ge=1, le=SCENE_COUNT)]

ALLOWED_ACTIONS: dict[str, tuple[str, ...]] = {
    "script": ("approve", "regenerate", "edit", "cancel"),
    "images": ("approve", "redo", "edit", "cancel"),
    "clips": ("approve", "redo", "edit", "cancel"),
}


# An edited script part may run this much over its section's word budget; beyond it the
# narration would need more speed-up than the assembly allows.
EDIT_SLACK = 1.3
MAX_EDIT_CHARS = 2000
MAX_FEEDBACK_CHARS = 1000


class Decision(BaseModel):
    """What to do at a gate. Every field is required: an empty decision is never an approval."""

    action: Action = Field(
        description="approve · regenerate (script, with feedback) · redo (scenes) · "
        "edit (a script part, or one scene's prompt) · cancel"
    )
    scenes: list[SceneNumber] | None = Field(
        description="Scene numbers 1-10 to make again (redo only), e.g. [2, 7]"
    )
    part: ScriptPart | None = Field(
        description="The script part to replace, or the style sheet (edit at the script gate "
        "only)"
    )
    scene: SceneNumber | None = Field(
        description="The scene whose prompt to replace (edit at the images or clips gate)"
    )
    text: str | None = Field(max_length=MAX_EDIT_CHARS, description="The new text (edit only)")
    feedback: str | None = Field(
        max_length=MAX_FEEDBACK_CHARS, description="What to change (regenerate only)"
    )
    decided_by: str = Field(min_length=1, max_length=64, description="Who decided")

    @classmethod
    def make(cls, action: Action, decided_by: str, **fields: object) -> Decision:
        """A decision with the fields that `action` does not use set to None."""
        base: dict[str, object] = dict.fromkeys(
            ("scenes", "part", "scene", "text", "feedback"), None
        )
        return cls.model_validate({**base, **fields, "action": action, "decided_by": decided_by})

    def problem(self, stage: str) -> str | None:
        """Why this decision cannot be taken at `stage`, or None when it can."""
        allowed = ALLOWED_ACTIONS.get(stage)
        if allowed is None:
            return f"unknown stage {stage!r}; gates are {', '.join(GATE_STAGES)}"
        if self.action not in allowed:
            return f"'{self.action}' is not possible at the {stage} gate ({', '.join(allowed)})"
        if self.action == "redo" and not self.scenes:
            return "redo needs at least one scene number (1-10)"
        if self.action == "regenerate" and not (self.feedback or "").strip():
            return "regenerate needs feedback: say what to change"
        if self.action == "edit":
            if not (self.text or "").strip():
                return "edit needs the new text"
            if stage == "script" and self.part is None:
                return "edit at the script gate needs the part: intro, main, outro or style"
            if stage != "script" and self.scene is None:
                return f"edit at the {stage} gate needs a scene number (1-10)"
        return None

    def scene_indexes(self) -> list[int]:
        """The 0-based scene indexes named by a redo (or an edit), sorted, without repeats."""
        numbers = set(self.scenes or [])
        if self.action == "edit" and self.scene is not None:
            numbers.add(self.scene)
        return sorted(n - 1 for n in numbers)


def over_length(feedback: str | None = None, text: str | None = None) -> str | None:
    """Why a decision's own words cannot be taken: more than their field holds."""
    for name, value, limit in (("the feedback", feedback, MAX_FEEDBACK_CHARS),
                               ("the new text", text, MAX_EDIT_CHARS)):
        if value is not None and len(value) > limit:
            return f"{name} is {len(value)} characters; the limit is {limit}"
    return None


def parse_scene_numbers(text: str) -> list[int]:
    """Parse "3,5" or "3 5" or "2-4" into scene numbers; raise ValueError with a clear message."""
    numbers: set[int] = set()
    for token in text.replace(",", " ").split():
        low, sep, high = token.partition("-")
        try:
            first, last = int(low), int(high) if sep else int(low)
        except ValueError:
            raise ValueError(f"'{token}' is not a scene number") from None
        if not (1 <= first <= last <= SCENE_COUNT):
            raise ValueError(f"scene numbers run from 1 to {SCENE_COUNT}, got '{token}'")
        numbers.update(range(first, last + 1))
    if not numbers:
        raise ValueError("give at least one scene number, e.g. 3,5")
    return sorted(numbers)


def approval_blocked(kind: str, unready: list[int]) -> str | None:
    """Why the images or clips cannot be approved yet: some scenes (0-based) have no media."""
    if not unready:
        return None
    numbers = ", ".join(str(i + 1) for i in unready)
    noun, edited = ("image", "prompt") if kind == "images" else ("clip", "motion")
    return f"scene(s) {numbers} have no {noun} yet: redo them or edit their {edited}"


@dataclass(frozen=True)
class Refusal:
    """Why a decision cannot be taken: `code` names it for translated texts, `text` says it
    in plain English (logs, the terminal, the Prefect UI), `values` fill either."""

    code: Literal["invalid", "edit_too_long", "style_empty", "approve_blocked", "over_budget"]
    text: str
    values: dict[str, str | int] = field(default_factory=dict)


def refusal(
    stage: str,
    decision: Decision,
    *,
    language: str,
    unready: list[int],
    over_budget: Shortfall | None = None,
) -> Refusal | None:
    """Every rule about a decision at a gate, in one place: the flow, the bot, the CLI and the
    Prefect UI path all ask this. `unready` are the 0-based scenes without media;
    `over_budget` is what the budgets cannot pay of the work this decision starts."""
    problem = decision.problem(stage)
    if problem is not None:
        return Refusal("invalid", problem)
    if (stage == "script" and decision.action == "edit" and decision.part in SECTION_PARTS
            and decision.text):
        section = next(s for s in SECTIONS if s.name == decision.part)
        limit = int(word_budget(language, section.seconds) * EDIT_SLACK)
        words = count_words(decision.text)
        if words > limit:
            text = f"the {section.name} is {words} words; about {limit} fit its section"
            return Refusal("edit_too_long", text, {"part": section.name, "words": words,
                                                   "limit": limit})
    if stage == "script" and decision.action == "edit" and decision.part == "style":
        try:
            parse_style(decision.text or "")
        except ValueError as exc:
            return Refusal("style_empty", str(exc))
    if stage != "script" and decision.action == "approve":
        blocked = approval_blocked(stage, unready)
        if blocked:
            scenes = ", ".join(str(i + 1) for i in unready)
            return Refusal("approve_blocked", blocked, {"scenes": scenes, "stage": stage})
    if over_budget is not None:
        return Refusal("over_budget", over_budget.text, {
            "cost": f"{over_budget.cost:.2f}", "left": f"{max(over_budget.left, 0):.2f}",
            "limit": f"{over_budget.limit:.2f}", "scope": over_budget.scope,
        })
    return None
