"""The script writer against an OpenAI-compatible server that does not enforce the schema: the
real `openai` client talks to the fake server on 127.0.0.1, which answers in fences, after a
`<think>` block or inside prose; failures name that server, not OpenAI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI, Recorded
from videobot.providers.base import ProviderError, ScriptRequest
from videobot.providers.openai_api import OpenAIScriptWriter, build_openai_client, drafts
from videobot.settings import Settings

SHAPES = {
    "fenced": "```json\n{json}\n```",
    "think": "<think>\nThe viewer wants a video. I need {braces} and the keys.\n</think>\n\n{json}",
    "unclosed think": "<think>\nLet me plan the answer first, then give it.\n\n{json}",
    "prose": "Sure! Here is the JSON you asked for:\n\n{json}\n\nLet me know if you want changes.",
}
KEYS = {
    "script": ('"title"', '"intro"', '"main"', '"outro"', '"style"', '"medium"', '"palette"',
               '"lighting"', '"subjects"'),
    "plan": ('"intro"', '"narration"', '"image_prompt"'),
    "motion": ('"prompts"',),
}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI-compatible server for each test."""
    with FakeOpenAI() as server:
        yield server


def writer_for(fake: FakeOpenAI, mode: str, **overrides: Any) -> OpenAIScriptWriter:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, openai_api_key="local", openai_base_url=fake.base_url,
        openai_api_mode=mode, openai_text_model="qwen3:8b", provider_backoff_seconds=0.01,
        **overrides,
    )
    return OpenAIScriptWriter(settings, build_openai_client(settings), sleep=lambda _: None)


def endpoint_of(mode: str) -> str:
    return "responses" if mode == "responses" else "chat/completions"


def instructions_of(request: Recorded) -> str:
    body = request.json or {}
    if "instructions" in body:
        return str(body["instructions"])
    return str(body["messages"][0]["content"])


def host_of(fake: FakeOpenAI) -> str:
    return fake.base_url.removeprefix("http://").removesuffix("/v1")


@pytest.mark.parametrize("mode", ["chat", "responses"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_whole_text_pass_works_with_each_shape(fake: FakeOpenAI, mode: str, shape: str) -> None:
    """Script, plan and motion are each read from a wrapped answer in one request apiece."""
    fake.reply_wrapped(endpoint_of(mode), SHAPES[shape], times=3)
    writer = writer_for(fake, mode)
    script, script_usage = writer.write_script(ScriptRequest("How volcanoes work", "en"))
    plan, plan_usage = writer.plan_segments(script, "en")
    motion, motion_usage = writer.write_motion(plan, "en")
    assert script.title == "How volcanoes work" and "volcano" in script.intro
    assert len(plan.scenes) == 10 and "palette: ember orange" in plan.style
    assert len(motion.prompts) == 10 and motion.prompts[9].endswith("scene 10")
    assert [r.fault for r in fake.requests] == ["wrap"] * 3
    assert script_usage.attempts == plan_usage.attempts == motion_usage.attempts == 1


@pytest.mark.parametrize("mode", ["chat", "responses"])
def test_requests_name_the_keys_and_keep_the_strict_schema(fake: FakeOpenAI, mode: str) -> None:
    """Each request's instructions name its JSON keys, and the strict schema is still sent."""
    writer = writer_for(fake, mode)
    script, _ = writer.write_script(ScriptRequest("How volcanoes work", "en"))
    writer.write_motion(writer.plan_segments(script, "en")[0], "en")
    sent = fake.requests_to(endpoint_of(mode))
    for request, keys in zip(sent, KEYS.values(), strict=True):
        text = instructions_of(request)
        assert all(key in text for key in keys) and "JSON object" in text
        assert request.schema is not None and request.schema["strict"] is True


def test_a_misfit_is_asked_again_with_the_missing_key_named(fake: FakeOpenAI) -> None:
    """JSON missing a key is asked for again, and the retry says which key was missing."""
    fake.reply_text("chat/completions", '```json\n{"title": "Tides", "intro": "i"}\n```')
    script, usage = writer_for(fake, "chat").write_script(ScriptRequest("Tides", "en"))
    assert script.main and usage.attempts == 2
    retry = instructions_of(fake.requests[1]) + str(fake.requests[1].json)
    assert "main: Field required" in retry and "JSON object only" in retry


@pytest.mark.parametrize("mode", ["chat", "responses"])
def test_a_bad_answer_names_the_local_server(fake: FakeOpenAI, mode: str) -> None:
    """After the last try, the reason names the server's host and port, never OpenAI."""
    fake.reply_text(endpoint_of(mode), "<think>I am not sure what to write here", times=2)
    with pytest.raises(ProviderError) as caught:
        writer_for(fake, mode, llm_output_attempts=2).write_script(ScriptRequest("Tides", "en"))
    reason = caught.value.reason
    assert reason.startswith(f"the text model at {host_of(fake)} gave no usable script in 2 tries")
    assert "only reasoning" in reason and "OpenAI" not in reason
    assert caught.value.permanent and len(fake.requests) == 2


def test_openai_itself_is_called_openai() -> None:
    """A writer for OpenAI's own API calls the server "OpenAI" in its reasons."""
    settings = Settings(_env_file=None, openai_api_key="sk-test",  # type: ignore[call-arg]
                        openai_base_url="https://api.openai.com/v1")
    assert OpenAIScriptWriter(settings).server == "OpenAI"


def test_prompts_carry_their_versions() -> None:
    """Each prompt names its version: the script and plan moved the style sheet to the script."""
    versions = {name: drafts.load_prompt(name)[1] for name in ("script", "segments", "motion")}
    assert versions == {"script": 3, "segments": 3, "motion": 2}


def test_an_unreachable_local_server_is_named_by_its_host() -> None:
    """A connection failure to a local server names that server, not OpenAI."""
    import socket

    from videobot.providers.base import ProviderError, ScriptRequest
    from videobot.providers.openai_api.text import OpenAIScriptWriter
    from videobot.settings import Settings

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(
        openai_api_key="local", openai_base_url=f"http://127.0.0.1:{port}/v1",
        openai_api_mode="chat", provider_attempts=1,
    )
    writer = OpenAIScriptWriter(settings, sleep=lambda _: None)
    with pytest.raises(ProviderError) as failed:
        writer.write_script(ScriptRequest(prompt="Volcanoes", language="en"))
    assert f"127.0.0.1:{port}" in failed.value.reason
    assert "OpenAI" not in failed.value.reason
