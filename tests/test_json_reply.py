"""Reading a model's JSON answer from the shapes local servers write: fences, reasoning blocks,
prose around the object, several objects; and a clear problem when nothing fits."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from videobot.providers.openai_api import drafts
from videobot.providers.openai_api.endpoint_name import model_server_name, server_host
from videobot.providers.openai_api.json_reply import UnusableJson, json_objects, parse_json_reply


class Pair(BaseModel):
    title: str
    main: str


GOOD = '{"title": "Tides", "main": "The moon pulls the sea."}'
TRICKY = '{"title": "Braces {like} these", "main": "a \\"quoted\\" } brace"}'


@pytest.mark.parametrize("text", [
    GOOD,
    f"```json\n{GOOD}\n```",
    f"```\n{GOOD}\n```",
    f"<think>The user wants a script about tides.</think>\n{GOOD}",
    f"<think>\nHmm, maybe {{\"title\": 1}} is wrong.\n</think>\n\n```json\n{GOOD}\n```",
    f"<THINKING>plan</THINKING>{GOOD}",
    f"Here is your script:\n{GOOD}\nI hope it helps!",
    f"Sure. {{not json at all}} Then: {GOOD}",
    f'{{"title": "only a title"}} and the real one: {GOOD}',
    f'{{"answer": {GOOD}}}',
])
def test_the_first_fitting_object_is_read(text: str) -> None:
    """Bare, fenced, after a think block, inside prose or after a misfit: the object is read."""
    assert parse_json_reply(text, Pair) == Pair(title="Tides", main="The moon pulls the sea.")


def test_braces_inside_strings_do_not_confuse_the_reader() -> None:
    """Braces and escaped quotes inside string values stay part of the values."""
    reply = parse_json_reply(f"Answer: {TRICKY} done", Pair)
    assert reply.title == "Braces {like} these" and reply.main == 'a "quoted" } brace'


def test_an_unclosed_think_block_followed_by_json() -> None:
    """A reasoning block never closed still leaves the JSON after it readable."""
    text = f"<think>I should answer about tides. The answer:\n\n{GOOD}"
    assert parse_json_reply(text, Pair).title == "Tides"


def test_the_answer_beats_a_draft_inside_the_reasoning() -> None:
    """A fitting draft inside <think> loses to the answer given after it."""
    draft = '{"title": "Draft", "main": "draft"}'
    assert parse_json_reply(f"<think>{draft}</think>{GOOD}", Pair).title == "Tides"


def test_json_only_inside_the_reasoning_is_a_last_resort() -> None:
    """When the only fitting object sits inside the reasoning block, it is used."""
    assert parse_json_reply(f"<think>{GOOD}</think>Done.", Pair).title == "Tides"


@pytest.mark.parametrize(("text", "problem"), [
    ("", "the answer was empty"),
    ("   \n", "the answer was empty"),
    ("I cannot write that script, sorry.", "no complete JSON object"),
    ('{"title": "cut off', "no complete JSON object"),
    ("<think>Let me think about tides for a long", "only reasoning"),
    ('```json\n{"title": "Tides"}\n```', "the JSON did not fit: main: Field required"),
    ('["Tides", "The moon"]', "no complete JSON object"),
])
def test_garbage_gives_a_clear_problem(text: str, problem: str) -> None:
    """An answer with no fitting object says why, in words, without class names."""
    with pytest.raises(UnusableJson) as caught:
        parse_json_reply(text, Pair)
    assert problem in str(caught.value)
    assert "ValidationError" not in str(caught.value) and "pydantic" not in str(caught.value)


def test_the_closest_misfit_is_described() -> None:
    """Of several misfits, the one with the fewest errors is the one described."""
    text = '{"x": 1} {"title": "Tides", "main": 3}'
    with pytest.raises(UnusableJson, match="main: Input should be a valid string"):
        parse_json_reply(text, Pair)


def test_json_objects_lists_nested_objects_in_text_order() -> None:
    """Every object starting at a brace is found, outer before inner."""
    assert json_objects('a {"a": {"b": 1}} b {"c": 2}') == [{"a": {"b": 1}}, {"b": 1}, {"c": 2}]


@pytest.mark.parametrize(("name", "rendered", "draft"), [
    ("script", drafts.script_instructions("en"), drafts.ScriptDraft),
    ("segments", drafts.segments_instructions("ru"), drafts.SegmentDraft),
    ("motion", drafts.motion_instructions(), drafts.MotionDraft),
])
def test_each_prompt_shows_a_shape_that_fits_its_draft(
    name: str, rendered: str, draft: type[BaseModel]
) -> None:
    """The JSON skeleton in each prompt validates as the model the answer is read into."""
    skeleton = parse_json_reply(rendered, draft)
    assert set(json.loads(skeleton.model_dump_json())) == set(draft.model_fields), name
    for key in draft.model_fields:
        assert f'"{key}"' in rendered


@pytest.mark.parametrize(("url", "host", "name"), [
    ("https://api.openai.com/v1", None, "OpenAI"),
    ("https://API.OpenAI.com:443/v1/", None, "OpenAI"),
    ("http://127.0.0.1:11434/v1", "127.0.0.1:11434", "the text model at 127.0.0.1:11434"),
    ("http://user:secret@gpu-box:8000/v1", "gpu-box:8000", "the text model at gpu-box:8000"),
    ("https://llm.example.org/v1", "llm.example.org", "the text model at llm.example.org"),
])
def test_the_server_is_named_by_its_host(url: str, host: str | None, name: str) -> None:
    """OpenAI's own API is "OpenAI"; any other server is its host (never its credentials)."""
    assert server_host(url) == host
    assert model_server_name(url, "text model") == name
