"""Checks on prompts, formats and languages."""

from __future__ import annotations

import pytest

from videobot.formats import SECTIONS, VideoFormat, section_of_scene
from videobot.requests import (
    MAX_PROMPT_CHARS,
    InvalidRequest,
    clean_prompt,
    detect_language,
    parse_format,
    resolve_language,
    voice_language,
)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None, 42])
def test_empty_or_non_text_prompt_is_refused(text: object) -> None:
    """Empty, blank and non-text prompts are refused."""
    with pytest.raises(InvalidRequest):
        clean_prompt(text)


def test_prompt_length_limit() -> None:
    """A prompt of 2,000 characters passes; one more is refused with the numbers."""
    assert len(clean_prompt("a" * MAX_PROMPT_CHARS)) == MAX_PROMPT_CHARS
    with pytest.raises(InvalidRequest, match="2001 characters"):
        clean_prompt("a" * (MAX_PROMPT_CHARS + 1))


def test_prompt_whitespace_is_folded() -> None:
    """Surrounding and repeated white space is removed."""
    assert clean_prompt("  How   volcanoes\nwork ") == "How volcanoes work"


def test_formats() -> None:
    """The three formats have their sizes; anything else is refused."""
    assert parse_format("16:9").size == (1280, 720)
    assert parse_format("9:16").size == (720, 1280)
    assert VideoFormat("1:1").size == (960, 960)
    with pytest.raises(InvalidRequest, match="4:3"):
        parse_format("4:3")


def test_languages() -> None:
    """Cyrillic prompts are Russian, others English; unknown languages are refused."""
    assert detect_language("Почему небо голубое") == "ru"
    assert detect_language("How volcanoes work") == "en"
    assert resolve_language("auto", "Почему небо голубое") == "ru"
    assert resolve_language("EN", "Почему небо голубое") == "en"
    with pytest.raises(InvalidRequest, match="xx"):
        resolve_language("xx", "hello")


def test_a_voice_prompts_language_waits_for_its_transcript_unless_chosen() -> None:
    """Nothing is known of a voice note's language before it is transcribed: auto stays auto
    (not the English an empty text would be taken for); a chosen language is kept."""
    assert resolve_language("auto", "") == "en"
    assert voice_language(None) == voice_language(" AUTO ") == "auto"
    assert voice_language("RU") == "ru"
    with pytest.raises(InvalidRequest, match="klingon"):
        voice_language("klingon")


def test_timeline() -> None:
    """Sections start at 0, 15 and 35 s and hold 3, 4 and 3 scenes."""
    assert [(s.start_seconds, s.seconds, s.scene_count) for s in SECTIONS] == [
        (0.0, 15.0, 3), (15.0, 20.0, 4), (35.0, 15.0, 3)
    ]
    assert [section_of_scene(i).name for i in (0, 2, 3, 6, 7, 9)] == [
        "intro", "intro", "main", "main", "outro", "outro"
    ]
    with pytest.raises(ValueError):
        section_of_scene(10)
