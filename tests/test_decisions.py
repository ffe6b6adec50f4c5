"""Gate decisions: no defaults, per-stage rules, and the terminal's shorthand."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from videobot.decisions import Decision, parse_scene_numbers
from videobot.requests import InvalidRequest
from videobot.terminal_input import parse_gate_line


def test_empty_decision_is_invalid() -> None:
    """An empty resume cannot be read as an approval: every field is required."""
    with pytest.raises(ValidationError):
        Decision.model_validate({})
    with pytest.raises(ValidationError):
        Decision.model_validate({"decided_by": "x"})


def test_json_schema_requires_every_field() -> None:
    """The schema Prefect validates a resume against lists every field as required."""
    schema = Decision.model_json_schema()
    assert set(schema["required"]) == set(Decision.model_fields)


@pytest.mark.parametrize(
    ("stage", "decision", "problem"),
    [
        ("script", Decision.make("approve", "t"), None),
        ("script", Decision.make("redo", "t", scenes=[1]), "not possible at the script gate"),
        ("script", Decision.make("regenerate", "t", feedback="  "), "needs feedback"),
        ("script", Decision.make("edit", "t", text="new"), "needs the part"),
        ("images", Decision.make("redo", "t", scenes=[]), "at least one scene"),
        ("images", Decision.make("redo", "t", scenes=[2, 7]), None),
        ("images", Decision.make("edit", "t", text="a cat"), "needs a scene number"),
        ("clips", Decision.make("regenerate", "t", feedback="x"), "not possible at the clips"),
        ("assembly", Decision.make("approve", "t"), "unknown stage"),
    ],
)
def test_problem_per_stage(stage: str, decision: Decision, problem: str | None) -> None:
    """Each gate accepts only its own actions, each with the fields it needs."""
    found = decision.problem(stage)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_scene_numbers_out_of_range_are_rejected_by_the_schema() -> None:
    """Scene numbers outside 1..10 never reach the flow."""
    with pytest.raises(ValidationError):
        Decision.make("redo", "t", scenes=[0, 11])


def test_scene_indexes_are_zero_based_sorted_unique() -> None:
    """A redo of scenes 7, 2, 7 means 0-based indexes 1 and 6."""
    assert Decision.make("redo", "t", scenes=[7, 2, 7]).scene_indexes() == [1, 6]


@pytest.mark.parametrize(
    ("text", "numbers"), [("3,5", [3, 5]), ("2 - 4", None), ("2-4", [2, 3, 4]), ("10", [10])]
)
def test_parse_scene_numbers(text: str, numbers: list[int] | None) -> None:
    """Scene lists accept commas, spaces and ranges; malformed ones are refused."""
    if numbers is None:
        with pytest.raises(ValueError):
            parse_scene_numbers(text)
    else:
        assert parse_scene_numbers(text) == numbers


@pytest.mark.parametrize("text", ["", "0", "11", "three", "5-2"])
def test_parse_scene_numbers_refuses(text: str) -> None:
    """Empty, out-of-range and non-numeric scene lists get a clear error."""
    with pytest.raises(ValueError, match="scene"):
        parse_scene_numbers(text)


def test_gate_line_shorthand() -> None:
    """The terminal's short answers become full decisions."""
    assert parse_gate_line("images", "a", "t").action == "approve"
    assert parse_gate_line("images", "r 2,7", "t").scenes == [2, 7]
    regen = parse_gate_line("script", "r make it funnier", "t")
    assert (regen.action, regen.feedback) == ("regenerate", "make it funnier")
    edit = parse_gate_line("script", "e outro Bye now.", "t")
    assert (edit.action, edit.part, edit.text) == ("edit", "outro", "Bye now.")
    scene_edit = parse_gate_line("images", "e 3 a red fox at dawn", "t")
    assert (scene_edit.scene, scene_edit.text) == (3, "a red fox at dawn")


@pytest.mark.parametrize(
    ("stage", "line"),
    [("images", "x"), ("script", "r"), ("images", "r 12"), ("script", "e title Hi"),
     ("images", "e 3"), ("clips", "e 3,4 zoom")],
)
def test_gate_line_mistakes(stage: str, line: str) -> None:
    """Mistyped answers are refused with a message instead of being guessed."""
    with pytest.raises(InvalidRequest):
        parse_gate_line(stage, line, "t")


@pytest.mark.parametrize(
    ("stage", "start", "limit", "field"),
    [("script", "r ", 1000, "the feedback"), ("script", "e main ", 2000, "the new text"),
     ("clips", "e 3 ", 2000, "the new text")],
)
def test_a_gate_line_too_long_is_refused_with_its_limit(
    stage: str, start: str, limit: int, field: str
) -> None:
    """Words longer than their field holds are refused in one line, not a schema error."""
    with pytest.raises(InvalidRequest) as refused:
        parse_gate_line(stage, start + "w" * (limit + 1), "t")
    assert str(refused.value) == f"{field} is {limit + 1} characters; the limit is {limit}"
    assert parse_gate_line(stage, start + "w" * limit, "t").action in ("regenerate", "edit")


def test_the_clips_gate_example_edits_the_motion() -> None:
    with pytest.raises(InvalidRequest, match=r"e\.g\.: e 3 <motion>"):
        parse_gate_line("clips", "e 3", "t")
