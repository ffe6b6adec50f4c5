"""A TrueType font that has Cyrillic glyphs, so captions in Russian render as letters."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont

# Debian/Ubuntu, Fedora/Arch and Alpine locations of DejaVu (which covers Latin and Cyrillic).
_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
)


@lru_cache(maxsize=2)
def find_font(bold: bool = False) -> Path | None:
    """Path of DejaVuSans (or its bold face), or None when it is not installed."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in _FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    return None


@lru_cache(maxsize=32)
def load_font(size: int, bold: bool = False) -> FontType:
    """DejaVuSans at `size` px; Pillow's built-in font when DejaVu is missing (no Cyrillic)."""
    path = find_font(bold) or find_font(not bold)
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)
