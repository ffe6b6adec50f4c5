"""The resume forms of the three gates, one per gate kind, as the Prefect UI shows them.

Each form holds only its gate's fields. `action` has no default, so an empty resume is refused
rather than read as an approval; every other field defaults to empty, so a plain approve in
the UI is one choice and one click. The form's description names the gate and round, what
approving starts and what it costs, and why an earlier decision was refused.
"""

from __future__ import annotations

from typing import Literal

from prefect.input import RunInput
from pydantic import Field

from videobot.decisions import Decision, SceneNumber, ScriptPart

UI_DECIDER = "Prefect UI"


class ScriptGateInput(RunInput):
    """The decision at the script gate."""

    action: Literal["approve", "regenerate", "edit", "cancel"] = Field(
        description="approve · regenerate (with feedback) · edit (one part) · cancel"
    )
    feedback: str | None = Field(
        default=None, max_length=1000, description="What to change (regenerate only)"
    )
    part: ScriptPart | None = Field(
        default=None,
        description="The part to replace (edit only): intro, main, outro, or style (the style "
        "sheet every picture is drawn in)",
    )
    text: str | None = Field(
        default=None, max_length=2000,
        description="The part's new text (edit only); for style, lines of `Label: value` "
        "(Medium, Palette, Lighting, or a recurring character's name), only those that change",
    )
    decided_by: str = Field(default=UI_DECIDER, min_length=1, max_length=64)

    def to_decision(self) -> Decision:
        return Decision.make(
            self.action, self.decided_by, feedback=self.feedback, part=self.part, text=self.text
        )


class MediaGateInput(RunInput):
    """The decision at the images gate (and, worded for motion, the clips gate)."""

    action: Literal["approve", "redo", "edit", "cancel"] = Field(
        description="approve (all ten) · redo (the scenes listed) · edit (one scene's prompt) "
        "· cancel"
    )
    scenes: list[SceneNumber] | None = Field(
        default=None, description="Scene numbers 1-10 to make again (redo only), e.g. [2, 7]"
    )
    scene: SceneNumber | None = Field(
        default=None, description="The scene whose prompt to replace (edit only)"
    )
    text: str | None = Field(
        default=None, max_length=2000, description="The scene's new prompt (edit only)"
    )
    decided_by: str = Field(default=UI_DECIDER, min_length=1, max_length=64)

    def to_decision(self) -> Decision:
        return Decision.make(
            self.action, self.decided_by, scenes=self.scenes, scene=self.scene, text=self.text
        )


class ClipsGateInput(MediaGateInput):
    """The decision at the clips gate: an edit replaces how a scene's picture moves."""

    action: Literal["approve", "redo", "edit", "cancel"] = Field(
        description="approve (all ten) · redo (the scenes listed) · edit (one scene's motion) "
        "· cancel"
    )
    scene: SceneNumber | None = Field(
        default=None, description="The scene whose motion to replace (edit only)"
    )
    text: str | None = Field(
        default=None, max_length=2000,
        description="How the scene's picture moves: its new motion prompt (edit only)",
    )


GATE_INPUTS: dict[str, type[ScriptGateInput] | type[MediaGateInput]] = {
    "script": ScriptGateInput, "images": MediaGateInput, "clips": ClipsGateInput,
}


def gate_input_class(stage: str) -> type[ScriptGateInput] | type[MediaGateInput]:
    return GATE_INPUTS[stage]


def run_input_of(stage: str, decision: Decision) -> dict[str, object]:
    """The resume payload for `decision` at `stage`: only the fields that gate's form has."""
    fields = gate_input_class(stage).model_fields
    payload = decision.model_dump(mode="json")
    return {k: v for k, v in payload.items() if k in fields and v is not None}


def form_description(
    stage: str, attempt: int, *, approving: str, refused: str | None = None
) -> str:
    """Markdown the UI shows above the form."""
    lines = [f"**{stage.capitalize()} gate, round {attempt}.** Approving {approving}."]
    if refused:
        lines.append(f"\n**The last decision was refused:** {refused}. Decide again.")
    return "\n".join(lines)
