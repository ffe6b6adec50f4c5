"""One picture showing all scenes at once, numbered, for approving images or clips in a chat."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from videobot.media.files import atomic_output
from videobot.media.fonts import load_font

_GAP = 8
_BACKGROUND = (24, 24, 28)


def make_contact_sheet(
    images: Sequence[Path | None],
    out: Path,
    *,
    columns: int = 5,
    thumb_width: int = 320,
    labels: bool = True,
) -> Path:
    """A JPEG grid of `images` in order, each thumbnail numbered 1, 2, ... at its top left.

    A missing picture (None, or a file that is not there: a scene that failed) is an empty
    cell marked with a cross, so the numbering still matches the scenes.
    """
    present = [p for p in images if p is not None and Path(p).is_file()]
    if not present:
        raise ValueError("a contact sheet needs at least one image")
    if columns < 1 or thumb_width < 16:
        raise ValueError("columns must be at least 1 and thumb_width at least 16 px")
    # Every cell takes the first image's shape; others are fitted into it (centre crop).
    with Image.open(present[0]) as first:
        aspect = first.height / first.width
    cell = (thumb_width, max(1, round(thumb_width * aspect)))
    columns = min(columns, len(images))
    rows = math.ceil(len(images) / columns)
    sheet = Image.new(
        "RGB",
        (columns * cell[0] + (columns + 1) * _GAP, rows * cell[1] + (rows + 1) * _GAP),
        _BACKGROUND,
    )
    draw = ImageDraw.Draw(sheet, "RGBA")
    font = load_font(max(12, thumb_width // 12), bold=True)
    for index, path in enumerate(images):
        x = _GAP + (index % columns) * (cell[0] + _GAP)
        y = _GAP + (index // columns) * (cell[1] + _GAP)
        if path is not None and Path(path).is_file():
            with Image.open(path) as image:
                thumb = ImageOps.fit(image.convert("RGB"), cell, Image.Resampling.LANCZOS)
            sheet.paste(thumb, (x, y))
        else:
            end = (x + cell[0] - 1, y + cell[1] - 1)
            draw.rectangle((x, y, *end), outline=(200, 60, 60), width=3)
            draw.line((x, y, *end), fill=(200, 60, 60), width=3)
            draw.line((x, end[1], end[0], y), fill=(200, 60, 60), width=3)
        if labels:
            label = str(index + 1)
            pad = max(3, thumb_width // 50)
            box = draw.textbbox((x + 2 * pad, y + 2 * pad), label, font=font)
            draw.rounded_rectangle(
                (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad),
                radius=pad,
                fill=(0, 0, 0, 180),
            )
            draw.text((x + 2 * pad, y + 2 * pad), label, font=font, fill=(255, 255, 255))
    out = Path(out)
    with atomic_output(out) as tmp:
        sheet.save(tmp, format="JPEG", quality=85, optimize=True)
    return out
