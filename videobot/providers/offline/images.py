"""Procedurally drawn scene images: no model, no network, a distinct picture per scene."""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageDraw

from videobot.formats import VideoFormat, frame_size
from videobot.media.files import atomic_output
from videobot.providers.base import Reference, Usage
from videobot.style import StyleSheet

RGB = tuple[int, int, int]


class OfflineImageMaker:
    """Draws gradients and shapes seeded by the prompt and scene, in the style sheet's palette.

    The picture carries no text: the narration's words appear once, as captions timed to the
    voice, instead of a scene's text cut to fit a panel and a label in one language."""

    name = "offline"
    model = "procedural"

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale  # pictures are drawn at this share of the format's size

    def make_image(
        self,
        prompt: str,
        caption: str,
        scene: int,
        fmt: VideoFormat,
        out: Path,
        *,
        references: Sequence[Reference] = (),
        style: StyleSheet | None = None,
    ) -> Usage:
        colours = palette_colours(style.palette) if style else []
        hue = None
        if len(colours) < 2:  # no usable palette: match the look of a reference instead
            ordered = sorted(references, key=lambda r: r.kind != "look")
            hue = next((h for r in ordered if (h := reference_hue(r.path)) is not None), None)
        image = draw_scene(prompt, scene, frame_size(fmt, self.scale), hue=hue, colours=colours)
        with atomic_output(Path(out)) as tmp:
            image.save(tmp, format="PNG", compress_level=3)
        return Usage(provider=self.name, model=self.model, units=1, unit="images")


def draw_scene(
    prompt: str,
    scene: int,
    size: tuple[int, int],
    *,
    hue: float | None = None,
    colours: Sequence[RGB] = (),
) -> Image.Image:
    """The picture for 0-based `scene`: same inputs, same pixels; other inputs, another picture.

    `colours` (two or more) are the palette it is drawn in; else `hue` (0..1) fixes the
    palette's base colour, so scenes can share one look.
    """
    digest = hashlib.sha256(f"{scene}\n{prompt}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    palette = _palette(rng, hue)
    if len(colours) >= 2:
        palette = _light_to_dark(colours)
    image = _gradient(rng, size, palette)
    draw = ImageDraw.Draw(image, "RGBA")  # RGBA ink on an RGB image blends translucent shapes
    _bokeh(rng, draw, size, palette)
    rng.choice((_hills, _waves, _rays))(rng, draw, size, palette)
    return image


def palette_colours(palette: str) -> list[RGB]:
    """The colours a palette names ("coral, gold, deep teal, #223344"), in order: each item
    read whole as a CSS colour name or hex code, else by its last word that is one."""
    colours: list[RGB] = []
    for item in re.split(r",|;|\band\b|\bи\b", palette.lower()):
        words = re.findall(r"#[0-9a-f]{3,6}\b|[a-z]+", item)
        candidates = ["".join(words), *reversed(words)]
        for name in candidates:
            try:
                rgb = ImageColor.getrgb(name)
            except ValueError:
                continue
            colours.append((rgb[0], rgb[1], rgb[2]))
            break
    return colours


def _light_to_dark(colours: Sequence[RGB]) -> list[RGB]:
    """Four colours, lightest first, as the drawing steps expect (repeated when fewer)."""
    ordered = sorted(colours, key=lambda c: -(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]))
    return [ordered[round(i * (len(ordered) - 1) / 3)] for i in range(4)]


def reference_hue(path: Path) -> float | None:
    """The dominant hue (0..1) of a picture, weighted by saturation; None if it has none."""
    try:
        with Image.open(path) as image:
            small = image.convert("RGB").resize((48, 48)).convert("HSV")
    except OSError:
        return None  # an unreadable reference only loses the shared look
    hsv = np.asarray(small, dtype=np.float64).reshape(-1, 3) / 255.0
    angle, weight = hsv[:, 0] * 2 * math.pi, hsv[:, 1] * hsv[:, 2]
    x, y = float((np.cos(angle) * weight).sum()), float((np.sin(angle) * weight).sum())
    if math.hypot(x, y) < 1e-3 * len(hsv):
        return None  # grey: no hue to match
    return (math.atan2(y, x) / (2 * math.pi)) % 1.0


def _palette(rng: random.Random, hue: float | None = None) -> list[RGB]:
    """Four harmonious colours around a hue (random unless given), light to dark."""
    drawn = rng.random()  # drawn either way, so the rest of the picture stays the same
    hue = drawn if hue is None else hue
    spread = rng.uniform(0.06, 0.35) * rng.choice((-1, 1))
    colours = []
    for i, value in enumerate((0.95, 0.75, 0.55, 0.3)):
        h = (hue + spread * i / 3) % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(0.45, 0.9), value)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def _gradient(rng: random.Random, size: tuple[int, int], palette: list[RGB]) -> Image.Image:
    """A linear gradient at a random angle plus a soft glow at a random point."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs /= width
    ys /= height
    angle = rng.uniform(0, 2 * math.pi)
    t = xs * math.cos(angle) + ys * math.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    start, end = np.array(palette[0], np.float32), np.array(palette[2], np.float32)
    pixels = start * (1 - t[..., None]) + end * t[..., None]
    gx, gy = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.6)
    glow = np.exp(-((xs - gx) ** 2 + ((ys - gy) * height / width) ** 2) / 0.05)
    pixels += glow[..., None] * (np.array(palette[1], np.float32) - pixels) * 0.6
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _rgba(colour: RGB, alpha: int) -> tuple[int, int, int, int]:
    return (*colour, alpha)


def _bokeh(rng: random.Random, draw: ImageDraw.ImageDraw, size: tuple[int, int],
           palette: list[RGB]) -> None:
    """Translucent circles and squares scattered over the sky."""
    width, height = size
    unit = min(size)
    for _ in range(rng.randint(6, 14)):
        x, y = rng.uniform(0, width), rng.uniform(0, height * 0.7)
        r = rng.uniform(0.02, 0.12) * unit
        colour = _rgba(rng.choice(palette[:2]), rng.randint(40, 120))
        if rng.random() < 0.7:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.regular_polygon((x, y, r), rng.choice((3, 4, 6)), rng.uniform(0, 90), colour)


def _hills(rng: random.Random, draw: ImageDraw.ImageDraw, size: tuple[int, int],
           palette: list[RGB]) -> None:
    """Layered rolling hills, lighter far away and darker near."""
    width, height = size
    for layer, colour in enumerate(palette[1:]):
        base = height * (0.55 + 0.13 * layer)
        waves = [(rng.uniform(0.5, 3.0), rng.uniform(0, 6.3), rng.uniform(0.02, 0.07))
                 for _ in range(3)]
        points = [(0.0, float(height))]
        for step in range(0, 65):
            x = width * step / 64
            dy = sum(a * height * math.sin(f * 2 * math.pi * x / width + p) for f, p, a in waves)
            points.append((x, base + dy))
        points.append((float(width), float(height)))
        draw.polygon(points, fill=_rgba(colour, 170 + 25 * layer))


def _waves(rng: random.Random, draw: ImageDraw.ImageDraw, size: tuple[int, int],
           palette: list[RGB]) -> None:
    """Wavy translucent bands across the picture."""
    width, height = size
    for band in range(rng.randint(3, 6)):
        y0 = height * rng.uniform(0.2, 0.9)
        amp, freq, phase = height * rng.uniform(0.02, 0.08), rng.uniform(1, 4), rng.uniform(0, 6)
        thickness = min(size) * rng.uniform(0.02, 0.08)
        top = [(width * s / 64, y0 + amp * math.sin(freq * 2 * math.pi * s / 64 + phase))
               for s in range(65)]
        bottom = [(x, y + thickness) for x, y in reversed(top)]
        draw.polygon(top + bottom, fill=_rgba(palette[1 + band % 3], rng.randint(90, 200)))


def _rays(rng: random.Random, draw: ImageDraw.ImageDraw, size: tuple[int, int],
          palette: list[RGB]) -> None:
    """A sun with rays and a horizon."""
    width, height = size
    cx, cy, r = width * rng.uniform(0.25, 0.75), height * rng.uniform(0.3, 0.5), min(size) * 0.12
    for i in range(rng.randint(8, 16)):
        angle = i * 2 * math.pi / 12 + rng.uniform(-0.1, 0.1)
        far = max(size) * 1.2
        spread = rng.uniform(0.03, 0.08)
        tip1 = (cx + far * math.cos(angle - spread), cy + far * math.sin(angle - spread))
        tip2 = (cx + far * math.cos(angle + spread), cy + far * math.sin(angle + spread))
        draw.polygon([(cx, cy), tip1, tip2], fill=_rgba(palette[0], 60))
    sun = tuple((c + 255) // 2 for c in palette[0])
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*sun, 235))
    horizon = height * rng.uniform(0.62, 0.75)
    draw.rectangle((0, horizon, width, height), fill=_rgba(palette[3], 220))
