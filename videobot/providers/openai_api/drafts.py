"""What the text model is asked to fill in, our versioned instructions, and the conversion of
its answers into the domain models (Script, SegmentPlan, MotionPlan).

The draft models keep to what strict structured output accepts (objects whose fields are all
required, strings, arrays of a fixed length), so the same schema works with OpenAI and with
OpenAI-compatible local servers. Conversion raises ValueError for an unusable answer and
returns a "soft" problem for one that is usable but worth asking again.
"""

from __future__ import annotations

import re
from importlib import resources
from string import Template
from typing import Literal

from pydantic import BaseModel, Field

from videobot.formats import SCENE_COUNT, SECTIONS
from videobot.providers.base import ScriptRequest
from videobot.script import MotionPlan, ScenePlan, Script, SegmentPlan, scene_texts, word_budget
from videobot.style import FIELD_LIMIT, MAX_SUBJECTS, StyleSheet, Subject

LANGUAGE_NAMES = {"en": "English", "ru": "Russian"}
_VERSION = re.compile(r"<!--\s*version:\s*(\d+)\s*-->")
_TITLE_LIMIT = 120
_STYLE_LIMIT = 2000
_IMAGE_PROMPT_LIMIT = 1000
_INTRO, _MAIN, _OUTRO = (s.scene_count for s in SECTIONS)


class SubjectDraft(BaseModel):
    name: str = Field(description="a short name the image prompts use")
    description: str = Field(description="a fixed look: age, build, clothing, colours")


class StyleDraft(BaseModel):
    medium: str = Field(description="medium and rendering, camera and lens feel, in English")
    palette: str = Field(description="four to six named colours, in English")
    lighting: str = Field(description="the light of every picture, in English")
    subjects: list[SubjectDraft] = Field(
        description="recurring characters, creatures or objects; empty when there are none"
    )


class ScriptDraft(BaseModel):
    title: str = Field(description="short title, in the narration language")
    intro: str = Field(description="the intro narration")
    main: str = Field(description="the main narration")
    outro: str = Field(description="the outro narration")
    mood: Literal["calm", "upbeat", "dramatic", "wonder"] = Field(
        description="the music under the voice"
    )
    style: StyleDraft = Field(description="one visual style for every picture of the video")


class SceneDraft(BaseModel):
    narration: str = Field(description="this scene's slice of the script, word for word")
    image_prompt: str = Field(description="one still picture for the slice, in English")


class SegmentDraft(BaseModel):
    intro: list[SceneDraft] = Field(min_length=_INTRO, max_length=_INTRO)
    main: list[SceneDraft] = Field(min_length=_MAIN, max_length=_MAIN)
    outro: list[SceneDraft] = Field(min_length=_OUTRO, max_length=_OUTRO)


class MotionDraft(BaseModel):
    prompts: list[str] = Field(
        min_length=SCENE_COUNT, max_length=SCENE_COUNT,
        description="one motion prompt per scene, in scene order",
    )


def load_prompt(name: str) -> tuple[str, int]:
    """Our instructions `prompts/<name>.md` without the version line, and their version."""
    text = (resources.files("videobot") / "prompts" / f"{name}.md").read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    match = _VERSION.fullmatch(first.strip())
    if match is None:
        raise ValueError(f"prompts/{name}.md must start with a <!-- version: N --> line")
    return rest.strip(), int(match.group(1))


def language_name(language: str) -> str:
    return LANGUAGE_NAMES.get(language, language)


def script_instructions(language: str) -> str:
    """The script prompt with each part's seconds and word budget in the target language."""
    values: dict[str, object] = {"language_name": language_name(language)}
    for section in SECTIONS:
        values[f"{section.name}_seconds"] = f"{section.seconds:g}"
        values[f"{section.name}_words"] = word_budget(language, section.seconds)
    return Template(load_prompt("script")[0]).substitute(values)


def segments_instructions(language: str) -> str:
    counts = {f"{s.name}_scenes": s.scene_count for s in SECTIONS}
    return Template(load_prompt("segments")[0]).substitute(
        language_name=language_name(language), **counts
    )


def motion_instructions() -> str:
    return load_prompt("motion")[0]


def script_input(request: ScriptRequest) -> str:
    """The viewer's topic, and on a regenerate the previous script and their feedback."""
    parts = [f"Topic: {request.prompt.strip()}"]
    if request.previous is not None:
        previous = _script_text(request.previous)
        if request.previous.style is not None:
            previous += "\n\nStyle sheet:\n" + request.previous.style.prompt_text()
        parts.append("Previous script:\n" + previous)
    if request.feedback and request.feedback.strip():
        parts.append(f"Feedback on the previous script: {request.feedback.strip()}")
    return "\n\n".join(parts)


def plan_input(script: Script) -> str:
    """The script, and its style sheet: the image prompts call its subjects by name."""
    text = _script_text(script)
    if script.style is not None:
        text += "\n\nStyle sheet (added to every image prompt):\n" + script.style.prompt_text()
    return text


def motion_input(plan: SegmentPlan) -> str:
    scenes = [
        f"Scene {s.index + 1} ({SECTIONS[s.section].name}):\n"
        f"Narration: {s.text}\nPicture: {s.image_prompt}"
        for s in plan.scenes
    ]
    return "\n\n".join([f"Style: {plan.style}", *scenes])


def script_from_draft(draft: ScriptDraft, language: str) -> tuple[Script, str | None]:
    """The script, and a soft problem when a part is too long to be spoken in its seconds."""
    script = Script(
        title=clip(draft.title, _TITLE_LIMIT), intro=draft.intro.strip(), main=draft.main.strip(),
        outro=draft.outro.strip(), mood=draft.mood, style=style_from_draft(draft.style),
    )
    overlong = script.overlong_parts(language)
    if overlong:
        return script, f"too many words for its seconds in: {', '.join(overlong)}"
    return script, None


def plan_from_draft(draft: SegmentDraft, script: Script) -> tuple[SegmentPlan, str | None]:
    """Ten scenes and one style sheet; a section whose slices do not add up to its script text
    gets an even split of that text instead (the pictures still follow the model's plan)."""
    even = scene_texts(script)
    scenes: list[ScenePlan] = []
    for section, drafts in zip(SECTIONS, (draft.intro, draft.main, draft.outro), strict=True):
        if len(drafts) != section.scene_count:
            raise ValueError(f"the {section.name} has {len(drafts)} scenes, not "
                             f"{section.scene_count}")
        texts = [d.narration.strip() for d in drafts]
        if not all(texts) or _words(" ".join(texts)) != _words(script.part(section.name)):
            texts = [even[i] for i in section.scenes]
        for index, scene, text in zip(section.scenes, drafts, texts, strict=True):
            prompt = clip(scene.image_prompt, _IMAGE_PROMPT_LIMIT)
            scenes.append(ScenePlan(index=index, text=text, image_prompt=prompt))
    style = script.style.prompt_text() if script.style else "plain"
    return SegmentPlan(style=clip(style, _STYLE_LIMIT), scenes=scenes), None


def style_from_draft(draft: StyleDraft) -> StyleSheet:
    """The style sheet, each field on one line within its limit; ValueError when a field is
    empty (the answer is asked for again)."""
    subjects = [
        Subject(name=clip(s.name, 60), description=clip(s.description, FIELD_LIMIT))
        for s in draft.subjects[:MAX_SUBJECTS]
        if s.name.strip() and s.description.strip() and s.name.strip().lower() != "none"
    ]
    return StyleSheet(
        medium=clip(draft.medium, FIELD_LIMIT), palette=clip(draft.palette, FIELD_LIMIT),
        lighting=clip(draft.lighting, FIELD_LIMIT), subjects=subjects,
    )


def motion_from_draft(draft: MotionDraft) -> tuple[MotionPlan, str | None]:
    prompts = [" ".join(p.split()) for p in draft.prompts]
    if not all(prompts):
        raise ValueError("a motion prompt is empty")
    return MotionPlan(prompts=prompts), None


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(",;:") + "…"


def _script_text(script: Script) -> str:
    return (
        f"Title: {script.title}\n\nIntro:\n{script.intro}\n\nMain:\n{script.main}\n\n"
        f"Outro:\n{script.outro}"
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())
