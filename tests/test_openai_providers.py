"""The OpenAI script writer, the client and the retry behaviour: the real `openai` client
against a fake OpenAI server on 127.0.0.1 (media providers: test_openai_media.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fakes.openai_server import FakeOpenAI
from videobot.formats import SECTIONS
from videobot.providers.base import ProviderError, ScriptRequest
from videobot.providers.openai_api import OpenAIScriptWriter, build_openai_client, drafts
from videobot.script import Script, word_budget
from videobot.settings import Settings
from videobot.style import StyleSheet, Subject

KEY = "sk-test-0123456789abcdef"
SCRIPT = Script(
    title="How volcanoes work",
    intro="Have you ever wondered what happens inside a volcano? Let us look.",
    main="Deep below, rock melts into magma. It rises, pressure builds, and it bursts out.",
    outro="Now you know why volcanoes erupt. Stay curious!",
    style=StyleSheet(medium="paper cut-out", palette="teal, coral", lighting="soft dusk",
                     subjects=[Subject(name="Ada", description="a fox in a red scarf")]),
)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI server for each test."""
    with FakeOpenAI() as server:
        yield server


def settings_for(fake: FakeOpenAI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_api_key": KEY, "openai_base_url": fake.base_url,
        "provider_backoff_seconds": 0.01, "provider_timeout_seconds": 10,
        "video_scale": 1.0,  # pictures at the format's full size, not the suite's drafts
    }
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


def writer_for(fake: FakeOpenAI, sleeps: list[float] | None = None,
               **overrides: Any) -> OpenAIScriptWriter:
    settings = settings_for(fake, **overrides)
    sleep = sleeps.append if sleeps is not None else (lambda _: None)
    return OpenAIScriptWriter(settings, build_openai_client(settings), sleep=sleep)


def endpoint_of(mode: str) -> str:
    return "responses" if mode == "responses" else "chat/completions"


@pytest.mark.parametrize("mode", ["responses", "chat"])
def test_writer_sends_strict_schemas_in_both_modes(fake: FakeOpenAI, mode: str) -> None:
    """Script, plan and motion each send the text model, our key and a strict JSON schema."""
    writer = writer_for(fake, openai_api_mode=mode, openai_text_model="text-model-x")
    script, usage = writer.write_script(ScriptRequest("How volcanoes work", "en"))
    plan, _ = writer.plan_segments(script, "en")
    motion, _ = writer.write_motion(plan, "en")
    sent = fake.requests_to(endpoint_of(mode))
    assert len(sent) == 3 and len(fake.requests) == 3
    assert [r.schema["name"] for r in sent if r.schema] == [
        "ScriptDraft", "SegmentDraft", "MotionDraft"
    ]
    for request in sent:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.json is not None and request.json["model"] == "text-model-x"
        assert request.schema is not None and request.schema["strict"] is True
    assert len(plan.scenes) == 10 and len(motion.prompts) == 10
    assert usage.provider == "openai" and usage.unit == "tokens" and usage.attempts == 1
    assert usage.request_id and usage.request_id.startswith(
        "resp_" if mode == "responses" else "chatcmpl"
    )


def test_script_usage_is_priced_from_token_counts(fake: FakeOpenAI) -> None:
    """Usage counts every token and prices input and output tokens separately."""
    writer = writer_for(fake, price_text_input_per_mtok=1.0, price_text_output_per_mtok=10.0)
    _, usage = writer.write_script(ScriptRequest("How volcanoes work", "en"))
    reply = fake.requests[0].reply
    assert reply is not None
    tokens = reply["usage"]
    assert usage.units == tokens["total_tokens"] and usage.request_id == reply["id"]
    assert usage.cost_usd == pytest.approx(
        tokens["input_tokens"] * 1e-6 + tokens["output_tokens"] * 10e-6
    )


def test_script_prompt_sizes_each_part_in_the_target_language(fake: FakeOpenAI) -> None:
    """The instructions name the language and each part's seconds and word budget."""
    writer_for(fake).write_script(ScriptRequest("Почему небо голубое", "ru"))
    body = fake.requests[0].json
    assert body is not None
    assert "Russian" in body["instructions"] and "Почему небо голубое" in body["input"]
    for section in SECTIONS:
        assert f"{section.seconds:g} seconds, at most {word_budget('ru', section.seconds)} words" \
            in body["instructions"]
    assert body["store"] is False


def test_regenerate_sends_feedback_and_previous_script(fake: FakeOpenAI) -> None:
    """A regenerate request carries the previous script and the viewer's feedback."""
    request = ScriptRequest("How volcanoes work", "en", feedback="more drama please",
                            previous=SCRIPT, attempt=2)
    writer_for(fake).write_script(request)
    text = fake.requests[0].json["input"]  # type: ignore[index]
    assert "more drama please" in text and SCRIPT.main in text and SCRIPT.title in text


def test_plan_uses_the_models_slices_and_the_scripts_style_sheet(fake: FakeOpenAI) -> None:
    """Slices that add up to their part become the scene texts; the plan's style is the
    script's style sheet, which the request shows the model."""
    def scenes(text: str, count: int) -> list[dict[str, str]]:
        words = text.split()
        cut = [round(i * len(words) / count) for i in range(count + 1)]
        return [{"narration": " ".join(words[cut[i]:cut[i + 1]]), "image_prompt": f"picture {i}"}
                for i in range(count)]

    fake.replies["SegmentDraft"] = {
        "intro": scenes(SCRIPT.intro, 3), "main": scenes(SCRIPT.main, 4),
        "outro": scenes(SCRIPT.outro, 3),
    }
    plan, _ = writer_for(fake).plan_segments(SCRIPT, "en")
    assert SCRIPT.style is not None and plan.style == SCRIPT.style.prompt_text()
    assert "Ada: a fox in a red scarf" in fake.requests[0].json["input"]  # type: ignore[index]
    assert [s.section for s in plan.scenes] == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    assert [s.text for s in plan.scenes[:3]] == [s["narration"] for s in scenes(SCRIPT.intro, 3)]
    assert plan.scenes[4].image_prompt == "picture 1"
    assert SCRIPT.main in fake.requests[0].json["input"]  # type: ignore[index]


def test_plan_splits_evenly_when_slices_do_not_match(fake: FakeOpenAI) -> None:
    """Slices that rewrite the script are replaced by an even split of the real text."""
    plan, usage = writer_for(fake).plan_segments(SCRIPT, "en")
    joined = " ".join(s.text for s in plan.scenes).split()
    assert joined == " ".join(SCRIPT.parts()).split()
    assert usage.attempts == 1


def test_500_then_success_is_one_usage_of_two_attempts(fake: FakeOpenAI) -> None:
    """A 500 is retried once; the result reports two attempts in one Usage."""
    fake.fail("responses", 500)
    sleeps: list[float] = []
    _, usage = writer_for(fake, sleeps).write_script(ScriptRequest("Tides", "en"))
    assert usage.attempts == 2 and len(sleeps) == 1
    assert [r.fault for r in fake.requests] == ["status 500", None]


@pytest.mark.parametrize(("headers", "wait"), [({"Retry-After": "7"}, 7.0),
                                               ({"retry-after-ms": "1500"}, 1.5)])
def test_429_waits_as_long_as_the_server_asks(
    fake: FakeOpenAI, headers: dict[str, str], wait: float
) -> None:
    """A 429's Retry-After (or retry-after-ms) sets the wait before the next attempt."""
    fake.fail("chat/completions", 429, headers=headers)
    sleeps: list[float] = []
    writer = writer_for(fake, sleeps, openai_api_mode="chat")
    _, usage = writer.write_motion(writer.plan_segments(SCRIPT, "en")[0], "en")
    assert sleeps == [pytest.approx(wait)]
    assert usage.attempts == 1  # the plan took the 429; motion went through at once


def test_timeout_then_success(fake: FakeOpenAI) -> None:
    """An answer slower than the client timeout is abandoned and the call retried."""
    fake.delay("responses", 3.0)
    _, usage = writer_for(fake, provider_timeout_seconds=0.5).write_script(
        ScriptRequest("Tides", "en")
    )
    assert usage.attempts == 2 and len(fake.requests) == 2


def test_401_fails_at_once_without_showing_the_key(fake: FakeOpenAI) -> None:
    """A rejected key fails permanently after one request, and the reason hides the key."""
    fake.api_key = "sk-the-right-one"
    with pytest.raises(ProviderError) as caught:
        writer_for(fake).write_script(ScriptRequest("Tides", "en"))
    assert caught.value.permanent and caught.value.kind == "permanent"
    assert "API key (401)" in caught.value.reason
    assert KEY not in caught.value.reason and KEY[-4:] not in caught.value.reason
    assert len(fake.requests) == 1


def test_persistent_5xx_gives_up_after_the_configured_attempts(fake: FakeOpenAI) -> None:
    """Transient faults stop after provider_attempts requests with a transient ProviderError."""
    fake.fail("responses", 503, times=5)
    with pytest.raises(ProviderError) as caught:
        writer_for(fake, provider_attempts=3).write_script(ScriptRequest("Tides", "en"))
    assert caught.value.kind == "transient" and not caught.value.permanent
    assert "after 3 attempts" in caught.value.reason and len(fake.requests) == 3


@pytest.mark.parametrize("mode", ["responses", "chat"])
def test_invalid_json_then_valid_takes_two_requests(fake: FakeOpenAI, mode: str) -> None:
    """Unparsable structured output is asked for again and both requests are counted."""
    fake.reply_text(endpoint_of(mode), "{this is not json")
    script, usage = writer_for(fake, openai_api_mode=mode).write_script(
        ScriptRequest("Tides", "en")
    )
    assert script.title and usage.attempts == 2 and len(fake.requests) == 2
    retry = fake.requests[1].json
    assert retry is not None and "could not be used" in str(retry)


@pytest.mark.parametrize("mode", ["responses", "chat"])
def test_refusals_end_in_a_permanent_error(fake: FakeOpenAI, mode: str) -> None:
    """A model that keeps refusing fails permanently after llm_output_attempts requests."""
    fake.refuse(endpoint_of(mode), times=2)
    with pytest.raises(ProviderError) as caught:
        writer_for(fake, openai_api_mode=mode, llm_output_attempts=2).write_script(
            ScriptRequest("Tides", "en")
        )
    assert caught.value.permanent and caught.value.kind == "safety"
    assert "refused" in caught.value.reason and "2 tries" in caught.value.reason
    assert len(fake.requests) == 2
    spent = caught.value.usage  # the refused answers were paid for: the ledger records them
    assert spent is not None and spent.attempts == 2 and spent.unit == "tokens"
    assert spent.units > 2 and spent.cost_usd > 0


@pytest.mark.parametrize("mode", ["responses", "chat"])
def test_content_filter_stops_at_once(fake: FakeOpenAI, mode: str) -> None:
    """An answer stopped by the content filter is a safety fault, not retried."""
    fake.content_filter(endpoint_of(mode))
    with pytest.raises(ProviderError) as caught:
        writer_for(fake, openai_api_mode=mode).write_script(ScriptRequest("Tides", "en"))
    assert caught.value.kind == "safety" and len(fake.requests) == 1


def test_overlong_script_is_asked_again_then_kept(fake: FakeOpenAI) -> None:
    """A script too long for its seconds is asked again; the last try is kept as it is."""
    long_intro = " ".join(["word"] * 80)
    fake.replies["ScriptDraft"] = {"title": "T", "intro": long_intro, "main": "m", "outro": "o",
                                   "mood": "calm", "style": {"medium": "ink", "palette": "black",
                                                             "lighting": "flat", "subjects": []}}
    script, usage = writer_for(fake, llm_output_attempts=2).write_script(
        ScriptRequest("Tides", "en")
    )
    assert script.intro == long_intro and usage.attempts == 2
    assert "too many words" in fake.requests[1].json["input"]  # type: ignore[index]


def test_random_faults_are_absorbed_by_the_retry_layer() -> None:
    """With 30 % of requests failing at random, every call still succeeds and counts them."""
    with FakeOpenAI(fault_rate=0.3, seed=3) as server:
        writer = writer_for(server, provider_attempts=8)
        attempts = sum(writer.write_script(ScriptRequest("Tides", "en"))[1].attempts
                       for _ in range(12))
        failed = [r for r in server.requests if r.fault]
    assert attempts == len(server.requests) == 12 + len(failed) and failed


def test_client_leaves_retries_to_our_layer(fake: FakeOpenAI) -> None:
    """The SDK client never retries by itself and uses the configured time limits and endpoint."""
    client = build_openai_client(
        settings_for(fake, provider_read_timeout_seconds=42, provider_connect_timeout_seconds=3)
    )
    timeout = client.timeout
    assert client.max_retries == 0 and isinstance(timeout, openai.Timeout)
    assert (timeout.connect, timeout.read) == (3, 42)
    assert str(client.base_url).rstrip("/") == fake.base_url
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        build_openai_client(Settings(_env_file=None, openai_api_key=None))  # type: ignore[call-arg]


@pytest.mark.parametrize(("name", "rendered"), [
    ("script", drafts.script_instructions("ru")),
    ("segments", drafts.segments_instructions("en")),
    ("motion", drafts.motion_instructions()),
])
def test_prompts_are_versioned_and_fully_rendered(name: str, rendered: str) -> None:
    """Each prompt file starts with its version line and renders without placeholders left."""
    text, version = drafts.load_prompt(name)
    assert version >= 1 and not text.startswith("<!--")
    assert "$" not in rendered and "<!--" not in rendered
