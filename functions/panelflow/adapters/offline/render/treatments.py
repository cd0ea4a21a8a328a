"""Style treatments of a painted scene: halftone dots, paper, ink, washes, speed lines."""

from __future__ import annotations

import functools
import math
import random
from typing import cast

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from panelflow.adapters.offline.render.scenery import Scene
from panelflow.adapters.offline.render.styles import RGB


@functools.lru_cache(maxsize=16)
def _dots(width: int, height: int, spacing: int, radius: float, offset: bool) -> Image.Image:
    """A mask of dots on a grid: screentone for manga, halftone for pop-art."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for row, y in enumerate(range(0, height + spacing, spacing)):
        shift = spacing // 2 if offset and row % 2 else 0
        for x in range(-spacing, width + spacing, spacing):
            cx = x + shift
            draw.ellipse([cx - radius, y - radius, cx + radius, y + radius], fill=255)
    return mask


@functools.lru_cache(maxsize=8)
def _paper(width: int, height: int) -> Image.Image:
    """A soft, deterministic paper grain for watercolour (effect_noise is not reproducible)."""
    rng = random.Random(width * 7919 + height)
    tile = Image.frombytes("L", (48, 32), bytes(rng.randrange(90, 166) for _ in range(48 * 32)))
    return tile.resize((width, height), Image.Resampling.BICUBIC)


def treat(image: Image.Image, style: str, scene: Scene, rng: random.Random) -> Image.Image:
    width, height = image.size
    if style == "noir":
        grey = ImageOps.autocontrast(image.convert("L"), cutoff=2)
        grey = grey.point(lambda value: 0 if value < 60 else min(255, int(value * 1.15)))
        shade = Image.new("L", image.size, 0)
        draw = ImageDraw.Draw(shade)
        # Hard diagonal shadows: light through blinds, or a building's edge.
        if scene.place == "indoor":
            for y in range(-height, height, 34):
                draw.polygon(
                    [(0, y), (width, y + height // 2), (width, y + height // 2 + 14), (0, y + 14)],
                    fill=150,
                )
        else:
            x = rng.randint(width // 3, width * 2 // 3)
            draw.polygon([(x, 0), (width, 0), (width, height), (x - width // 3, height)], fill=140)
        grey = Image.composite(Image.new("L", image.size, 8), grey, shade)
        return grey.convert("RGB")
    if style == "manga":
        grey = ImageOps.autocontrast(image.convert("L"), cutoff=1)
        black = grey.point(lambda value: 255 if value < 70 else 0)
        middle = grey.point(lambda value: 255 if 70 <= value < 170 else 0)
        tone = Image.new("L", image.size, 255)
        tone.paste(
            0,
            mask=Image.composite(
                _dots(width, height, 7, 1.6, True), Image.new("L", image.size, 0), middle
            ),
        )
        tone.paste(0, mask=black)
        if scene.action:
            _speed_lines(tone, rng)
        return tone.convert("RGB")
    if style == "pop-art":
        loud = ImageEnhance.Color(image).enhance(2.0)
        loud = ImageOps.posterize(loud, 3)
        darker = ImageEnhance.Brightness(loud).enhance(0.55)
        return Image.composite(darker, loud, _dots(width, height, 12, 3.2, True))
    if style == "watercolor":
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        for _ in range(12):
            x, y = rng.randrange(width), rng.randrange(height)
            r = rng.randint(40, 120)
            colour = cast(RGB, image.getpixel((min(width - 1, x), min(height - 1, y))))
            draw.ellipse([x - r, y - r * 3 // 4, x + r, y + r * 3 // 4], fill=(*colour[:3], 90))
        soft = image.filter(ImageFilter.GaussianBlur(3))
        blobs = layer.filter(ImageFilter.GaussianBlur(14))
        soft.paste(blobs, (0, 0), blobs)
        soft = _mix_image(soft, (250, 244, 230), 0.16)
        return Image.composite(soft, _mix_image(soft, (200, 190, 170), 0.12), _paper(width, height))
    # storybook: warm, soft pastel.
    return _mix_image(image, (255, 232, 196), 0.22)


def _mix_image(image: Image.Image, colour: RGB, amount: float) -> Image.Image:
    return Image.blend(image, Image.new("RGB", image.size, colour), amount)


def _speed_lines(tone: Image.Image, rng: random.Random) -> None:
    width, height = tone.size
    draw = ImageDraw.Draw(tone)
    cx, cy = width // 2, height // 2
    inner = min(width, height) * 0.42
    for number in range(90):
        angle = number * (2 * math.pi / 90) + rng.uniform(-0.02, 0.02)
        reach = max(width, height)
        start = inner + rng.uniform(0, 60)
        draw.line(
            [
                (cx + math.cos(angle) * start, cy + math.sin(angle) * start),
                (cx + math.cos(angle) * reach, cy + math.sin(angle) * reach),
            ],
            fill=0,
            width=1,
        )
