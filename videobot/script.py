"""The text side of a video: script, scene plan, motion prompts, and their sizing rules."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from videobot.formats import SCENE_COUNT, SECTIONS, section_of_scene

# Comfortable narration pace, words per second. The narrator's real pace is measured at
# assembly; these figures only size the text so that it fits its section.
WORDS_PER_SECOND = {"en": 2.5, "ru": 2.0}


def word_budget(language: str, seconds: float) -> int:
    """How many words of narration fit in `seconds` at a comfortable pace."""
    return int(WORDS_PER_SECOND.get(language, 2.3) * seconds)


def count_words(text: str) -> int:
    return len(re.findall(r"\w+", text))


class Script(BaseModel):
    """A three-part narration: intro (15 s), main (20 s), outro (15 s)."""

    title: str = Field(min_length=1, max_length=120)
    intro: str = Field(min_length=1, max_length=1500)
    main: str = Field(min_length=1, max_length=2000)
    outro: str = Field(min_length=1, max_length=1500)

    def part(self, name: str) -> str:
        if name not in ("intro", "main", "outro"):
            raise ValueError(f"unknown script part {name!r}")
        return str(getattr(self, name))

    def parts(self) -> list[str]:
        return [self.intro, self.main, self.outro]

    def overlong_parts(self, language: str, slack: float = 1.25) -> list[str]:
        """Parts whose word count is beyond what their section can hold, even sped up."""
        return [
            s.name
            for s in SECTIONS
            if count_words(self.part(s.name)) > word_budget(language, s.seconds) * slack
        ]


class ScenePlan(BaseModel):
    """One 5-second scene: the narration it illustrates and the picture to draw."""

    index: int = Field(ge=0, lt=SCENE_COUNT)
    text: str = Field(min_length=1)
    image_prompt: str = Field(min_length=1, max_length=1000)

    @property
    def section(self) -> int:
        return section_of_scene(self.index).index


class SegmentPlan(BaseModel):
    """Ten scenes (3 intro, 4 main, 3 outro) and one style sheet shared by all pictures."""

    style: str = Field(min_length=1, max_length=600)
    scenes: list[ScenePlan] = Field(min_length=SCENE_COUNT, max_length=SCENE_COUNT)

    @field_validator("scenes")
    @classmethod
    def _indexes_in_order(cls, scenes: list[ScenePlan]) -> list[ScenePlan]:
        if [s.index for s in scenes] != list(range(SCENE_COUNT)):
            raise ValueError("scenes must be numbered 0..9 in order")
        return scenes


class MotionPlan(BaseModel):
    """One animation prompt per scene, in scene order."""

    prompts: list[str] = Field(min_length=SCENE_COUNT, max_length=SCENE_COUNT)


def split_evenly(words: list[str], parts: int) -> list[list[str]]:
    """Split a word list into `parts` consecutive runs whose lengths differ by at most one."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    size, extra = divmod(len(words), parts)
    runs, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        runs.append(words[start:end])
        start = end
    return runs


def scene_texts(script: Script) -> list[str]:
    """The narration each of the ten scenes illustrates: each section split over its scenes."""
    texts: list[str] = []
    for section in SECTIONS:
        words = script.part(section.name).split()
        for run in split_evenly(words, section.scene_count):
            texts.append(" ".join(run) or script.title)
    return texts
