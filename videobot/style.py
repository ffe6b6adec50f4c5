"""One look for the ten scenes: the style sheet the script stage writes, as people read and edit
it and as every image prompt carries it."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

FIELD_LIMIT = 200
MAX_SUBJECTS = 5
UNSAID = "free"  # a field a person's sheet leaves out: the image model chooses
# The field labels a person may write when editing, in the languages the bot speaks.
_LABELS = {
    "palette": ("palette", "colours", "colors", "палитра", "цвета"),
    "medium": ("medium", "look", "style", "техника", "стиль", "манера"),
    "lighting": ("lighting", "light", "освещение", "свет"),
}
_SUBJECTS_HEADING = ("subjects", "characters", "персонажи", "герои")


def _one_line(text: str, limit: int = FIELD_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip(",;: ") + "…"


class Subject(BaseModel):
    """A recurring character, creature or object, described so it looks the same each time."""

    name: str = Field(min_length=1, max_length=60)
    description: str = Field(min_length=1, max_length=FIELD_LIMIT)


class StyleSheet(BaseModel):
    """The video's visual style: what every picture is drawn in and with."""

    medium: str = Field(min_length=1, max_length=FIELD_LIMIT)
    palette: str = Field(min_length=1, max_length=FIELD_LIMIT)
    lighting: str = Field(min_length=1, max_length=FIELD_LIMIT)
    subjects: list[Subject] = Field(default_factory=list, max_length=MAX_SUBJECTS)

    @field_validator("medium", "palette", "lighting", mode="before")
    @classmethod
    def _single_line(cls, value: object) -> object:
        return _one_line(value) if isinstance(value, str) else value

    def prompt_text(self) -> str:
        """The sheet as an image prompt carries it."""
        text = f"Style: {self.medium}; palette: {self.palette}; lighting: {self.lighting}."
        if self.subjects:
            who = "; ".join(f"{s.name}: {s.description}" for s in self.subjects)
            text += f" Recurring subjects, drawn the same in every picture: {who}."
        return text

    def lines(self, labels: dict[str, str]) -> list[str]:
        """The sheet as a person reads (and may send back edited): one `Label: value` a line;
        `labels` names the fields in the person's language."""
        rows = [
            f"{labels['medium']}: {self.medium}",
            f"{labels['palette']}: {self.palette}",
            f"{labels['lighting']}: {self.lighting}",
        ]
        return rows + [f"{s.name}: {s.description}" for s in self.subjects]


def parse_style(text: str, base: StyleSheet | None = None) -> StyleSheet:
    """A style sheet from a person's lines of `Label: value`. Palette, medium and lighting are
    known by their labels (English or Russian); any other label names a recurring subject.
    What the text leaves out is kept from `base` (without one, left to the image model); a
    line without a label adds to the medium. ValueError for a text that says nothing."""
    values: dict[str, str] = {}
    loose: list[str] = []
    subjects: list[Subject] = []
    for raw in re.split(r"[\n;]+", text):
        line = raw.strip(" \t-•*")
        if not line:
            continue
        label, colon, value = line.partition(":")
        key = label.strip().lower()
        if not key and value.strip():  # ": watercolour": a value with no label
            line, colon = value.strip(), ""
        if not colon or not value.strip():
            if key not in _SUBJECTS_HEADING:
                loose.append(line)
            continue
        field = next((name for name, words in _LABELS.items() if key in words), None)
        if field is not None:
            values[field] = value.strip()
        elif len(subjects) < MAX_SUBJECTS:
            subjects.append(
                Subject(name=_one_line(label.strip(), 60), description=_one_line(value.strip()))
            )
    if loose:
        values["medium"] = "; ".join([*([values["medium"]] if "medium" in values else []), *loose])
    if not values and not subjects:
        raise ValueError("the style sheet needs at least one line, e.g. Palette: teal, coral")
    merged = {
        "medium": values.get("medium") or (base.medium if base else UNSAID),
        "palette": values.get("palette") or (base.palette if base else UNSAID),
        "lighting": values.get("lighting") or (base.lighting if base else UNSAID),
        "subjects": subjects or (list(base.subjects) if base else []),
    }
    return StyleSheet.model_validate(merged)


def image_prompt(scene: str, style: StyleSheet | None, limit: int | None = None) -> str:
    """A scene's picture prompt with the style sheet, cut to `limit` characters by shortening
    the scene's part: the style is what keeps the ten pictures alike."""
    scene = " ".join(scene.split())
    if style is None:
        return scene if limit is None else scene[:limit]
    sheet = style.prompt_text()
    if limit is not None:
        room = limit - len(sheet) - 1
        if room < 40:  # a sheet too long for the limit: the scene still needs its words
            sheet = sheet[: max(0, limit - 41)]
            room = limit - len(sheet) - 1
        if len(scene) > room:
            scene = scene[: room - 1].rstrip() + "…"
    return f"{scene} {sheet}".strip()
