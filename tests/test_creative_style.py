"""The style sheet: written with the script by every writer, shown and edited at the script
gate, carried by every image prompt, and honoured by the offline image maker's palette."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from videobot.callbacks import GateButton, parse
from videobot.chat_texts import edit_keyboard, script_message
from videobot.decisions import Decision, refusal
from videobot.formats import VideoFormat
from videobot.messages import script_text
from videobot.providers.base import ScriptRequest
from videobot.providers.offline.images import OfflineImageMaker, draw_scene, palette_colours
from videobot.providers.offline.script_writer import OfflineScriptWriter
from videobot.providers.openai_api.drafts import StyleDraft, SubjectDraft, style_from_draft
from videobot.style import StyleSheet, Subject, image_prompt, parse_style
from videobot.terminal_input import parse_gate_line

SHEET = StyleSheet(medium="watercolour wash", palette="coral, teal, navy, gold",
                   lighting="dusk light", subjects=[Subject(name="Mila", description="a girl")])


def test_an_edit_changes_only_the_lines_it_sends() -> None:
    """A person's lines replace their fields (English or Russian labels); the rest is kept;
    another label names a recurring subject, which replace the old ones."""
    edited = parse_style("Palette: black and white\nRex: a grey dog with one white ear", SHEET)
    assert (edited.medium, edited.palette, edited.lighting) == (
        "watercolour wash", "black and white", "dusk light")
    assert edited.subjects == [Subject(name="Rex", description="a grey dog with one white ear")]
    russian = parse_style("Палитра: чёрный и белый; Свет: полдень", SHEET)
    assert (russian.palette, russian.lighting, russian.subjects) == (
        "чёрный и белый", "полдень", SHEET.subjects)
    with pytest.raises(ValueError):
        parse_style("   \n ", SHEET)


def test_a_value_without_a_label_adds_to_the_medium() -> None:
    """": pencil sketch" (the label left out) is read as a line without a label, not refused
    as a subject with no name."""
    edited = parse_style(": pencil sketch\nPalette: sepia", SHEET)
    assert (edited.medium, edited.palette, edited.subjects) == (
        "pencil sketch", "sepia", SHEET.subjects)


def test_a_cut_prompt_keeps_the_whole_style() -> None:
    """Cut to a limit, the scene's words shrink and the style sheet stays whole."""
    text = image_prompt("a long scene " * 200, SHEET, limit=400)
    assert len(text) <= 400 and text.endswith(SHEET.prompt_text())
    assert "Mila: a girl" in text


def test_the_offline_writer_writes_a_style_and_a_regenerate_keeps_it() -> None:
    """The template writer's script has a style sheet of named colours; a regenerate keeps
    it; the scene plan's style line is that sheet."""
    writer = OfflineScriptWriter()
    script, _ = writer.write_script(ScriptRequest("How volcanoes work", "en"))
    assert script.style is not None and len(palette_colours(script.style.palette)) >= 4
    again, _ = writer.write_script(ScriptRequest("How volcanoes work", "en", feedback="shorter",
                                                 previous=script.model_copy(
                                                     update={"style": SHEET}), attempt=2))
    assert again.style == SHEET
    plan, _ = writer.plan_segments(again, "en")
    assert plan.style == SHEET.prompt_text()


def test_the_offline_image_maker_draws_in_the_palette(tmp_path: Path) -> None:
    """Across the ten scenes drawn with a style sheet, each of its palette's colours covers
    part of some picture; drawn without one, none of them does."""
    colours = np.array(palette_colours(SHEET.palette), dtype=float)

    def shown(pixels: np.ndarray) -> set[int]:
        """The palette colours that at least 1 % of the pixels lie near."""
        flat = pixels.reshape(-1, 1, 3).astype(float)
        near = np.sqrt(((flat - colours[None]) ** 2).sum(-1)) < 40
        return {i for i in range(len(colours)) if near[:, i].mean() > 0.01}

    styled: set[int] = set()
    plain: set[int] = set()
    for scene in range(10):
        out = tmp_path / f"scene-{scene}.png"
        OfflineImageMaker().make_image("a bridge", "", scene, VideoFormat.SQUARE, out,
                                       style=SHEET)
        with Image.open(out) as image:
            styled |= shown(np.asarray(image.convert("RGB").resize((96, 96))))
        plain |= shown(np.asarray(draw_scene("a bridge", scene, (96, 96))))
    assert styled == set(range(4)) and plain == set()


def test_the_script_gate_shows_the_style_and_takes_an_edit_of_it() -> None:
    """The chat and the terminal show the sheet as `Label: value` lines; the edit menu has a
    style button; `e style …` at the terminal and the rules take it."""
    writer = OfflineScriptWriter()
    script = writer.write_script(ScriptRequest("Tides", "en"))[0].model_copy(
        update={"style": SHEET})
    assert "Palette: coral, teal, navy, gold" in script_message("en", script, 1, None)
    assert "Палитра: coral, teal, navy, gold" in script_message("ru", script, 1, None)
    assert "Palette: coral, teal, navy, gold" in script_text(script, 1)
    buttons = [data for row in edit_keyboard("en", "3f2a9c1e", "script", 2) for _, data in row]
    style = next(parse(data) for data in buttons if parse(data).action == "part"
                 and parse(data).part == "style")
    assert style == GateButton("3f2a9c1e", "script", 2, "part", "s")
    decision = parse_gate_line("script", "e style Palette: black; Lighting: noon", "terminal")
    assert (decision.part, decision.text) == ("style", "Palette: black; Lighting: noon")
    assert refusal("script", decision, language="en", unready=[]) is None
    assert refusal("script", Decision.make("edit", "t", part="style", text=" "), language="en",
                   unready=[]) is not None


def test_a_models_style_draft_is_clipped_and_its_none_subject_dropped() -> None:
    """A local model's answer: fields on one line within limits, a "none" subject left out."""
    sheet = style_from_draft(StyleDraft(
        medium="ink\nand wash " + "x" * 300, palette="black, red", lighting="flat",
        subjects=[SubjectDraft(name="none", description="no characters"),
                  SubjectDraft(name="Ada", description="a fox")],
    ))
    assert "\n" not in sheet.medium and len(sheet.medium) <= 200
    assert [s.name for s in sheet.subjects] == ["Ada"]
