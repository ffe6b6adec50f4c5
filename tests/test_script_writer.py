"""The offline script writer: sized sections, ten scenes, motion prompts."""

from __future__ import annotations

import pytest

from videobot.formats import SECTIONS
from videobot.providers.base import ProviderError, ScriptRequest
from videobot.providers.offline.script_writer import OfflineScriptWriter
from videobot.providers.offline.transcriber import OfflineTranscriber
from videobot.script import count_words, word_budget


@pytest.mark.parametrize(
    ("prompt", "language"), [("How volcanoes work", "en"), ("Почему небо голубое", "ru")]
)
def test_script_fits_its_sections(prompt: str, language: str) -> None:
    """Each part has words, no more than its section holds at a comfortable pace."""
    script, usage = OfflineScriptWriter().write_script(ScriptRequest(prompt, language))
    for section in SECTIONS:
        words = count_words(script.part(section.name))
        assert 0.5 * word_budget(language, section.seconds) <= words
        assert words <= word_budget(language, section.seconds)
    assert script.overlong_parts(language) == []
    assert usage.provider == "offline" and usage.cost_usd == 0


def test_russian_script_is_in_russian() -> None:
    """A Russian prompt gets a Russian script that mentions the topic."""
    script, _ = OfflineScriptWriter().write_script(ScriptRequest("Почему небо голубое", "ru"))
    assert "почему небо голубое" in script.intro.lower()
    assert any("\u0400" <= c <= "\u04ff" for c in script.main)


def test_regenerate_gives_another_variant() -> None:
    """Regenerating with feedback yields a different script."""
    writer = OfflineScriptWriter()
    first, _ = writer.write_script(ScriptRequest("How volcanoes work", "en"))
    second, _ = writer.write_script(
        ScriptRequest("How volcanoes work", "en", feedback="more drama", previous=first, attempt=2)
    )
    assert second.parts() != first.parts()


def test_plan_has_ten_scenes_in_three_sections() -> None:
    """The plan has 10 scenes (3/4/3) that together narrate the whole script."""
    writer = OfflineScriptWriter()
    script, _ = writer.write_script(ScriptRequest("How volcanoes work", "en"))
    plan, _ = writer.plan_segments(script, "en")
    assert [s.section for s in plan.scenes] == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    assert " ".join(s.text for s in plan.scenes).split() == " ".join(script.parts()).split()
    assert len({s.image_prompt for s in plan.scenes}) == 10
    motion, _ = writer.write_motion(plan, "en")
    assert len(motion.prompts) == 10


def test_offline_transcriber_refuses_clearly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without a speech-to-text provider, voice prompts get a clear, permanent refusal."""
    with pytest.raises(ProviderError) as caught:
        OfflineTranscriber().transcribe(tmp_path / "voice.ogg")
    assert caught.value.permanent
    assert "STT_PROVIDER" in caught.value.reason
