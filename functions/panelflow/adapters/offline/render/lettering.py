"""Speech bubbles and the caption strip, with Pillow's built-in scalable font."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from PIL import ImageDraw, ImageFont

from panelflow.adapters.offline.render.styles import Style
from panelflow.domain.models import DialogueLine

MAX_BUBBLES = 3


@functools.lru_cache(maxsize=32)
def font_of_size(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def fit_lines(
    text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int, max_lines: int
) -> list[str]:
    """Wraps ``text`` to ``width`` pixels; the last line ends in an ellipsis when it is cut."""
    words = text.split()
    lines: list[str] = []
    current = ""
    index = 0
    while index < len(words):
        word = words[index]
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width:
            current = candidate
            index += 1
            continue
        if not current:
            # A single word (or a script without spaces) wider than the line: cut it.
            cut = len(word)
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            words[index] = word[cut:]
        else:
            lines.append(current)
            current = ""
        if len(lines) == max_lines:
            break
    if current and len(lines) < max_lines:
        lines.append(current)
        current = ""
    cut_short = index < len(words) or bool(current)
    if cut_short and lines:
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1].rstrip()
        lines[-1] = last.rstrip(" ,;:") + "…"
    return lines


def draw_bubbles(
    draw: ImageDraw.ImageDraw,
    dialogue: Sequence[DialogueLine],
    heads: dict[str, tuple[int, int]],
    spec: Style,
    width: int,
    scene_height: int,
) -> None:
    lines = [line for line in dialogue if line.text.strip()][:MAX_BUBBLES]
    if not lines:
        return
    unit = scene_height / 430
    font = font_of_size(int(16 * unit))
    line_height = int(20 * unit)
    margin = int(14 * unit)
    pad = int(10 * unit)
    column = (width - margin * (len(lines) + 1)) // len(lines)
    max_width = min(column, int(width * 0.62))
    highest_head = min((top for _, top in heads.values()), default=int(scene_height * 0.7))
    max_lines = max(1, min(5, (highest_head - margin * 3 - pad * 2) // line_height))
    for number, line in enumerate(lines):
        wrapped = fit_lines(f"{line.speaker}: {line.text}", font, max_width - pad * 2, max_lines)
        text_width = max(int(font.getlength(text)) for text in wrapped)
        box_width = text_width + pad * 2
        box_height = len(wrapped) * line_height + pad * 2
        left = margin + number * (column + margin) + (column - box_width) // 2
        top = margin + (number % 2) * int(8 * unit)
        box = (left, top, left + box_width, top + box_height)
        head = heads.get(line.speaker)
        target = (
            (head[0], head[1] - int(6 * unit))
            if head
            else ((box[0] + box[2]) // 2, box[3] + int(26 * unit))
        )
        anchor = max(box[0] + spec.radius + 4, min(box[2] - spec.radius - 12, target[0]))
        tail = [(anchor - int(9 * unit), box[3] - 2), (anchor + int(9 * unit), box[3] - 2), target]
        draw.polygon(tail, fill=spec.bubble_fill, outline=spec.bubble_line, width=max(1, spec.line))
        draw.rounded_rectangle(
            box,
            spec.radius,
            fill=spec.bubble_fill,
            outline=spec.bubble_line,
            width=max(1, spec.line),
        )
        # Cover the tail's top edge where it joins the bubble.
        draw.line(
            [(tail[0][0] + 2, box[3] - 2), (tail[1][0] - 2, box[3] - 2)],
            fill=spec.bubble_fill,
            width=max(2, spec.line + 1),
        )
        y = top + pad
        for text in wrapped:
            draw.text((left + pad, y), text, font=font, fill=spec.text)
            y += line_height


def draw_caption(
    draw: ImageDraw.ImageDraw, caption: str, spec: Style, width: int, height: int, strip: int
) -> None:
    top = height - strip
    unit = height / 512
    font = font_of_size(int(17 * unit))
    pad = int(12 * unit)
    line_height = int(22 * unit)
    max_lines = max(1, (strip - pad) // line_height)
    draw.rectangle([0, top, width, height], fill=spec.caption_fill)
    draw.line([(0, top), (width, top)], fill=spec.border, width=max(2, spec.line))
    lines = fit_lines(caption, font, width - pad * 3, max_lines)
    y = top + (strip - len(lines) * line_height) // 2
    for text in lines:
        draw.text((pad + pad // 2, y), text, font=font, fill=spec.caption_text)
        y += line_height
