"""The text side of a video: script, scene plan, motion prompts, and their sizing rules."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from videobot.formats import SCENE_COUNT, SECTIONS, section_of_scene
from videobot.style import StyleSheet

# Comfortable narration pace, words per second. The narrator's real pace is measured at
# assembly; these figures only size the text so that it fits its section.
WORDS_PER_SECOND = {"en": 2.5, "ru": 2.0}


def word_budget(language: str, seconds: float) -> int:
    """How many words of narration fit in `seconds` at a comfortable pace."""
    return int(WORDS_PER_SECOND.get(language, 2.3) * seconds)


def count_words(text: str) -> int:
    return len(re.findall(r"\w+", text))


# A section may end this much quieter than it could be before the person is told: a short
# breath at the end is natural, a third of the section in silence is a gap worth fixing.
SILENCE_WARNING_SECONDS = 3.0


def silent_tail(text: str, language: str, seconds: float) -> float:
    """About how many of `seconds` are left silent after `text` is spoken at a comfortable pace."""
    spoken = count_words(text) / WORDS_PER_SECOND.get(language, 2.3)
    return max(0.0, seconds - spoken)


class Script(BaseModel):
    """A three-part narration: intro (15 s), main (20 s), outro (15 s)."""

    title: str = Field(min_length=1, max_length=120)
    intro: str = Field(min_length=1, max_length=1500)
    main: str = Field(min_length=1, max_length=2000)
    outro: str = Field(min_length=1, max_length=1500)
    mood: str | None = None  # the music bed's mood, picked by the writer; None: calm
    # The look of every picture, shown and editable at the script gate; None in scripts
    # written before style sheets existed.
    style: StyleSheet | None = None

    def part(self, name: str) -> str:
        if name not in ("intro", "main", "outro"):
            raise ValueError(f"unknown script part {name!r}")
        return str(getattr(self, name))

    def parts(self) -> list[str]:
        return [self.intro, self.main, self.outro]

    def silent_parts(self, language: str) -> list[tuple[str, float]]:
        """Parts so short that more than SILENCE_WARNING_SECONDS of their section is silent,
        with the silent seconds: told to the person before they approve the script."""
        tails = [(s.name, silent_tail(self.part(s.name), language, s.seconds)) for s in SECTIONS]
        return [(name, tail) for name, tail in tails if tail > SILENCE_WARNING_SECONDS]

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

    style: str = Field(min_length=1, max_length=2000)
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


_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”)\]]*$")
_PHRASE_END = re.compile(r"[,;:]+[\"'»”)\]]*$")
_DASHES = {"—", "–", "-"}
# What a cut costs, by where it falls: a scene that changes mid-sentence shows the next picture
# while the last one is still being talked about; mid-phrase is worse still.
_CUT_COST = {2: 0.0, 1: 0.15, 0: 1.0}


def _cut_strength(words: list[str], after: int) -> int:
    """2 after a sentence end, 1 after a phrase end (comma, colon, dash), 0 inside a phrase."""
    word = words[after]
    if _SENTENCE_END.search(word):
        return 2
    following = words[after + 1] if after + 1 < len(words) else ""
    return 1 if _PHRASE_END.search(word) or following in _DASHES else 0


def split_on_phrases(text: str, parts: int) -> list[str]:
    """`text` in `parts` consecutive pieces of similar length, cut at sentence ends where they
    fall near enough, else at phrase ends, and inside a phrase only when nothing else fits."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    words = text.split()
    n = len(words)
    if n <= parts:
        return [" ".join(run) for run in split_evenly(words, parts)]
    ideal = n / parts
    strength = [_cut_strength(words, i) for i in range(n)]

    def piece(start: int, end: int) -> float:
        return ((end - start - ideal) / ideal) ** 2

    # best[k][end]: least cost of the first `end` words in k pieces; cut[k][end]: where the
    # k-th piece starts. Sections hold at most a few hundred words, so O(parts * n²) is cheap.
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(parts + 1)]
    cut = [[0] * (n + 1) for _ in range(parts + 1)]
    best[0][0] = 0.0
    for k in range(1, parts + 1):
        for end in range(k, n - (parts - k) + 1):
            for start in range(k - 1, end):
                if best[k - 1][start] == inf:
                    continue
                cost = best[k - 1][start] + piece(start, end)
                if start > 0:
                    cost += _CUT_COST[strength[start - 1]]
                if cost < best[k][end]:
                    best[k][end], cut[k][end] = cost, start
    bounds, end = [], n
    for k in range(parts, 0, -1):
        start = cut[k][end]
        bounds.append((start, end))
        end = start
    return [" ".join(words[a:b]) for a, b in reversed(bounds)]


def scene_texts(script: Script) -> list[str]:
    """The narration each of the ten scenes illustrates: each section cut over its scenes at
    sentence or phrase boundaries, so a picture stays on screen while its words are spoken."""
    texts: list[str] = []
    for section in SECTIONS:
        for piece in split_on_phrases(script.part(section.name), section.scene_count):
            texts.append(piece or script.title)
    return texts
