"""The five comic styles: their colours and line weights, and colour helpers."""

from __future__ import annotations

import colorsys
import functools
from dataclasses import dataclass

from PIL import ImageDraw

RGB = tuple[int, int, int]

STYLES = ("storybook", "manga", "noir", "watercolor", "pop-art")
DEFAULT_STYLE = "storybook"


@dataclass(frozen=True)
class Style:
    """A style's fixed colours and line weights; the scene treatment is ``treatments.treat``."""

    name: str
    outline: RGB
    line: int
    bubble_fill: RGB
    bubble_line: RGB
    text: RGB
    caption_fill: RGB
    caption_text: RGB
    border: RGB
    paper: RGB
    radius: int


STYLE_SPECS = {
    "storybook": Style(
        name="storybook",
        outline=(92, 62, 40),
        line=2,
        bubble_fill=(255, 252, 242),
        bubble_line=(92, 62, 40),
        text=(50, 36, 28),
        caption_fill=(250, 236, 206),
        caption_text=(70, 48, 32),
        border=(60, 40, 28),
        paper=(252, 242, 222),
        radius=18,
    ),
    "manga": Style(
        name="manga",
        outline=(0, 0, 0),
        line=2,
        bubble_fill=(255, 255, 255),
        bubble_line=(0, 0, 0),
        text=(0, 0, 0),
        caption_fill=(255, 255, 255),
        caption_text=(0, 0, 0),
        border=(0, 0, 0),
        paper=(255, 255, 255),
        radius=22,
    ),
    "noir": Style(
        name="noir",
        outline=(0, 0, 0),
        line=3,
        bubble_fill=(245, 245, 245),
        bubble_line=(0, 0, 0),
        text=(10, 10, 10),
        caption_fill=(12, 12, 12),
        caption_text=(236, 236, 236),
        border=(0, 0, 0),
        paper=(200, 200, 200),
        radius=4,
    ),
    "watercolor": Style(
        name="watercolor",
        outline=(86, 76, 96),
        line=1,
        bubble_fill=(253, 250, 242),
        bubble_line=(120, 108, 130),
        text=(60, 52, 70),
        caption_fill=(246, 240, 226),
        caption_text=(70, 60, 80),
        border=(96, 86, 108),
        paper=(248, 243, 231),
        radius=20,
    ),
    "pop-art": Style(
        name="pop-art",
        outline=(0, 0, 0),
        line=4,
        bubble_fill=(255, 255, 255),
        bubble_line=(0, 0, 0),
        text=(0, 0, 0),
        caption_fill=(255, 228, 0),
        caption_text=(0, 0, 0),
        border=(0, 0, 0),
        paper=(255, 246, 150),
        radius=14,
    ),
}


def mix(first: RGB, second: RGB, amount: float) -> RGB:
    return (
        round(first[0] + (second[0] - first[0]) * amount),
        round(first[1] + (second[1] - first[1]) * amount),
        round(first[2] + (second[2] - first[2]) * amount),
    )


@functools.lru_cache(maxsize=512)
def toned(colour: RGB, style: str) -> RGB:
    """A colour as the style paints it: grey for noir and manga, loud for pop-art."""
    red, green, blue = colour
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    if style == "noir":
        grey = max(0, min(255, round((luma - 128) * 1.5 + 128)))
        return (grey, grey, grey)
    if style == "manga":
        level = (20, 96, 170, 250)[min(3, int(luma / 64))]
        return (level, level, level)
    if style == "pop-art":
        hue, saturation, value = colorsys.rgb_to_hsv(red / 255, green / 255, blue / 255)
        saturation = min(1.0, saturation * 1.6 + 0.15) if saturation > 0.08 else saturation
        value = max(value, 0.35) if saturation > 0.08 else value
        converted = colorsys.hsv_to_rgb(hue, saturation, value)
        return (round(converted[0] * 255), round(converted[1] * 255), round(converted[2] * 255))
    if style == "watercolor":
        return mix(colour, (250, 244, 230), 0.18)
    return colour


def draw_border(draw: ImageDraw.ImageDraw, width: int, height: int, spec: Style) -> None:
    thickness = max(4, round(6 * height / 512)) + (2 if spec.name == "pop-art" else 0)
    draw.rectangle([0, 0, width - 1, height - 1], outline=(0, 0, 0), width=thickness)
