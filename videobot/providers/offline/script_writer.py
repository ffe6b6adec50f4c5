"""A template script writer: no model, no network, text sized for its section in en and ru."""

from __future__ import annotations

import hashlib

from videobot.formats import SECTIONS
from videobot.media.music import MOODS
from videobot.providers.base import ScriptRequest, Usage
from videobot.script import (
    MotionPlan,
    ScenePlan,
    Script,
    SegmentPlan,
    count_words,
    scene_texts,
    word_budget,
)
from videobot.style import StyleSheet

_SENTENCES: dict[str, dict[str, list[str]]] = {
    "en": {
        "intro": [
            "Have you ever wondered about {topic}?",
            "In the next minute we will find out together.",
            "It is a story of simple ideas with surprising results.",
            "Let us start with the question itself.",
            "Stay with us, because the answer is worth it.",
        ],
        "main": [
            "First, look at the basic idea behind {topic}.",
            "Everything begins with a few forces working together.",
            "Step by step, small changes add up to something big.",
            "Scientists measured this again and again to be sure.",
            "The key is how energy moves from one place to another.",
            "That is why the same pattern appears all over the world.",
            "And once you see it, you notice it everywhere.",
        ],
        "outro": [
            "So now you know the essence of {topic}.",
            "Next time you meet it, you will see it with new eyes.",
            "Share this video with someone curious.",
            "Thanks for watching, and stay curious.",
            "See you in the next story.",
        ],
    },
    "ru": {
        "intro": [
            "Вы когда-нибудь задумывались: {topic}?",
            "За одну минуту мы разберёмся вместе.",
            "Это история простых идей с удивительным итогом.",
            "Начнём с самого вопроса.",
            "Оставайтесь с нами, ответ того стоит.",
        ],
        "main": [
            "Сначала посмотрим на главную идею.",
            "Всё начинается с нескольких сил, действующих вместе.",
            "Шаг за шагом маленькие изменения складываются в большие.",
            "Учёные проверяли это снова и снова.",
            "Главное здесь в том, как переходит энергия.",
            "Поэтому одна и та же картина повторяется по всему миру.",
            "Стоит это увидеть, и вы заметите это повсюду.",
        ],
        "outro": [
            "Теперь вы знаете суть: {topic}.",
            "В следующий раз вы посмотрите на это по-новому.",
            "Поделитесь этим видео с тем, кому интересно.",
            "Спасибо за просмотр, оставайтесь любопытными.",
            "До встречи в следующей истории.",
        ],
    },
}

# Palettes of CSS colour names: the offline image maker draws with exactly these colours.
_STYLES = [
    StyleSheet(medium="flat vector illustration, soft shadows", palette="coral, gold, teal, navy",
               lighting="warm sunset light"),
    StyleSheet(medium="paper cut-out collage, layered depth",
               palette="teal, coral, ivory, darkslategray", lighting="soft studio light"),
    StyleSheet(medium="bold geometric poster art", palette="gold, royalblue, crimson, midnightblue",
               lighting="crisp even light"),
    StyleSheet(medium="watercolour wash, gentle edges",
               palette="lavender, peachpuff, lightblue, slategray",
               lighting="gentle morning light"),
]
_MOTIONS = ["slow zoom in", "pan right", "slow zoom out", "pan left"]


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _topic(prompt: str) -> str:
    topic = prompt.strip().rstrip("?!.").strip()
    return topic[:1].lower() + topic[1:] if topic[:2].istitle() else topic


def _fill(sentences: list[str], budget: int, topic: str, rotate: int) -> str:
    """As many sentences as fit the word budget (at least one), starting with the first."""
    first, rest = sentences[0], sentences[1:]
    shift = rotate % len(rest) if rest else 0
    ordered = [first, *rest[shift:], *rest[:shift]]
    chosen: list[str] = []
    for sentence in ordered:
        text = sentence.format(topic=topic)
        if chosen and count_words(" ".join([*chosen, text])) > budget:
            continue
        chosen.append(text)
    return " ".join(chosen)


class OfflineScriptWriter:
    """Writes from templates; a regenerate yields a different variant of the same shape."""

    name = "offline"
    model = "templates-v1"

    def write_script(self, request: ScriptRequest) -> tuple[Script, Usage]:
        language = request.language if request.language in _SENTENCES else "en"
        pool = _SENTENCES[language]
        topic = _topic(request.prompt)[:200]
        rotate = _seed(request.prompt, request.feedback, request.attempt)
        parts = {
            s.name: _fill(pool[s.name], word_budget(language, s.seconds), topic, rotate + i)
            for i, s in enumerate(SECTIONS)
        }
        title = request.prompt.strip().rstrip("?!.")[:80] or "Video"
        mood = MOODS[_seed(request.prompt) % len(MOODS)]
        # A regenerate keeps the look: feedback to templates cannot ask for another one.
        style = (request.previous.style if request.previous and request.previous.style
                 else _STYLES[_seed(request.prompt) % len(_STYLES)])
        script = Script(title=title[:1].upper() + title[1:], mood=mood, style=style, **parts)
        words = sum(count_words(p) for p in script.parts())
        return script, Usage("offline", self.model, words, "words")

    def plan_segments(self, script: Script, language: str) -> tuple[SegmentPlan, Usage]:
        sheet = script.style or _STYLES[_seed(script.title) % len(_STYLES)]
        style = sheet.prompt_text()
        scenes = [
            ScenePlan(index=i, text=text, image_prompt=f"{script.title}. {text}")
            for i, text in enumerate(scene_texts(script))
        ]
        return SegmentPlan(style=style, scenes=scenes), Usage("offline", self.model, 10, "scenes")

    def write_motion(self, plan: SegmentPlan, language: str) -> tuple[MotionPlan, Usage]:
        prompts = [_MOTIONS[s.index % len(_MOTIONS)] for s in plan.scenes]
        return MotionPlan(prompts=prompts), Usage("offline", self.model, 10, "scenes")
