"""Scene texts are cut at sentence and phrase ends, in pieces of similar length."""

from __future__ import annotations

import pytest

from videobot.script import Script, scene_texts, split_on_phrases

TEXT = (
    "Volcanoes are openings in the crust. Molten rock, called magma, rises from deep below; "
    "it gathers in chambers. When pressure builds, it erupts with ash and lava. "
    "Then it cools into new land."
)


def test_pieces_keep_every_word_in_order() -> None:
    """Joining the pieces gives back the text, word for word."""
    for parts in (1, 2, 3, 4):
        pieces = split_on_phrases(TEXT, parts)
        assert len(pieces) == parts
        assert " ".join(pieces).split() == TEXT.split()


def test_cuts_fall_at_sentence_or_phrase_ends() -> None:
    """No piece but the last ends inside a phrase when the text has enough boundaries."""
    for parts in (2, 3, 4):
        for piece in split_on_phrases(TEXT, parts)[:-1]:
            assert piece[-1] in ".,;:!?", piece


def test_a_sentence_end_beats_a_phrase_end_nearby() -> None:
    """Two sentences of four words each are cut between the sentences, not at the comma."""
    assert split_on_phrases("One, two three four. Five six seven eight.", 2) == [
        "One, two three four.", "Five six seven eight."
    ]


def test_pieces_stay_balanced() -> None:
    """A text without punctuation is cut evenly rather than left lopsided."""
    words = " ".join(f"w{i}" for i in range(40))
    lengths = [len(p.split()) for p in split_on_phrases(words, 4)]
    assert max(lengths) - min(lengths) <= 1


def test_russian_dash_is_a_phrase_end() -> None:
    """A spaced dash between two halves of a Russian sentence is a place to cut."""
    pieces = split_on_phrases("Вулкан просыпается медленно — сначала идёт дым и пепел", 2)
    assert pieces[0].endswith("медленно") or pieces[1].startswith("—")


def test_fewer_words_than_pieces() -> None:
    """Each word gets its own piece and the rest are empty, never an error."""
    assert split_on_phrases("one two", 3) == ["one", "two", ""]
    with pytest.raises(ValueError):
        split_on_phrases("one", 0)


def test_scene_texts_cover_each_section() -> None:
    """Ten scene texts: three for the intro, four for the main part, three for the outro."""
    script = Script(title="Volcanoes", intro=TEXT, main=TEXT + " " + TEXT, outro=TEXT)
    texts = scene_texts(script)
    assert len(texts) == 10
    assert " ".join(texts[:3]).split() == TEXT.split()
    assert " ".join(texts[3:7]).split() == (TEXT + " " + TEXT).split()


def test_a_short_part_is_flagged_with_its_silent_seconds() -> None:
    """An outro of three words leaves most of its 15 s silent, and says about how much."""
    script = Script(title="T", intro=TEXT, main=TEXT + " " + TEXT, outro="Thanks for watching.")
    silent = dict(script.silent_parts("en"))
    assert list(silent) == ["outro"]
    assert 13.0 < silent["outro"] < 14.0  # 3 words at 2.5 words a second: 1.2 s of speech


def test_parts_that_fill_their_sections_are_not_flagged() -> None:
    """A script sized to its sections has no silent part, in English or Russian."""
    intro = " ".join(["word"] * 36)
    script = Script(title="T", intro=intro, main=" ".join(["word"] * 48), outro=intro)
    assert script.silent_parts("en") == []
    ru = Script(title="T", intro=" ".join(["слово"] * 29), main=" ".join(["слово"] * 39),
                outro=" ".join(["слово"] * 29))
    assert ru.silent_parts("ru") == []


def test_the_chat_warns_of_a_silent_outro_before_approval() -> None:
    """The script message in Russian says the outro would leave most of its 15 s silent."""
    from videobot.chat_texts import script_message

    script = Script(title="T", intro=TEXT, main=TEXT + " " + TEXT, outro="Спасибо.")
    text = script_message("ru", script, 2, None, "ru")
    assert "Концовка: текст короткий, около 14 с из 15 с будет тишина" in text
    assert "⚠️" not in script_message("ru", script.model_copy(update={"outro": TEXT}), 2, None,
                                      "en")


def test_the_terminal_warns_of_a_silent_outro() -> None:
    """The terminal's script text carries the same warning, in English."""
    from videobot.messages import script_text

    script = Script(title="T", intro=TEXT, main=TEXT + " " + TEXT, outro="Thanks.")
    assert "Warning: the outro is short; about 15 s of its section would be silent" in (
        script_text(script, 2, None, "en")
    )
    assert "Warning" not in script_text(script, 2)
