"""Caption box, narration box and speech bubbles laid out over a panel image and burned in.

Sizes shrink together from a comfortable size to a legible minimum until every block fits
over the image; what still does not fit at the minimum continues in a strip added below the
image, so no text is ever cut or dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from panelflow.domain.models import DialogueLine
from panelflow.domain.writing import paragraph_is_rtl
from panelflow.lettering.fonts import FontChain
from panelflow.lettering.text import SetText, draw_set, wrap

INK = (24, 24, 28)
MUTED = (90, 90, 100)
CAPTION_FILL = (255, 246, 210)
BUBBLE_FILL = (255, 255, 255)
STRIP_FILL = (250, 248, 242)
# Where a speaker stands, as a fraction of the width (the image prompt puts them there).
SIDE_X = {"left": 0.27, "right": 0.73, "center": 0.5}
SIDES = tuple(SIDE_X)


@dataclass(frozen=True)
class Block:
    """One box of lettering before it is set: its kind, text and (for bubbles) speaker."""

    kind: str  # caption | narration | bubble
    text: str
    speaker: str = ""
    side: str = "center"


@dataclass(frozen=True)
class Placed:
    block: Block
    body: SetText
    label: SetText | None
    box: tuple[int, int, int, int]


def blocks_of(caption: str, narration: str, dialogue: Sequence[DialogueLine]) -> list[Block]:
    """The boxes a panel needs: the caption; the narration too when it says more than the
    caption (the narration alone when it contains the caption); one bubble per line."""
    caption, narration = " ".join(caption.split()), " ".join(narration.split())
    blocks: list[Block] = []
    if narration and caption and caption in narration:
        blocks.append(Block("caption", narration))
    else:
        if caption:
            blocks.append(Block("caption", caption))
        if narration:
            blocks.append(Block("narration", narration))
    for line in dialogue:
        text = " ".join(line.text.split())
        if text:
            side = getattr(line, "side", "center")
            blocks.append(Block("bubble", text, line.speaker, side if side in SIDE_X else "center"))
    return blocks


class Layout:
    """Sets and places blocks for one image size and language."""

    def __init__(self, width: int, height: int, chain: FontChain, language: str) -> None:
        self.width, self.height = width, height
        self.chain, self.language = chain, language
        self.unit = min(width / 768, height / 512)
        self.margin = max(4, int(10 * self.unit))
        self.pad = max(3, int(8 * self.unit))
        self.largest = max(10, int(19 * self.unit))
        self.smallest = max(9, int(11 * self.unit))

    def _set(self, block: Block, size: int, width: int) -> tuple[SetText, SetText | None] | None:
        rtl = paragraph_is_rtl(block.text, self.language)
        body = wrap(block.text, self.chain, size, width, rtl=rtl)
        if body is None:
            return None
        label = None
        if block.kind == "bubble" and block.speaker.strip():
            label_rtl = paragraph_is_rtl(block.speaker, self.language)
            label = wrap(block.speaker, self.chain, max(8, size * 3 // 4), width, rtl=label_rtl)
        return body, label

    def _box_width(self, block: Block) -> int:
        if block.kind != "bubble":
            return self.width - 2 * self.margin
        share = 0.6 if block.side == "center" else 0.46
        return int(self.width * share)

    def place(self, blocks: Sequence[Block], size: int, height: int) -> list[Placed] | None:
        """Every block placed within ``height`` at ``size``, or None when they do not fit."""
        placed: list[Placed] = []
        top = self.margin
        bottom = height - self.margin
        narration = [b for b in blocks if b.kind == "narration"]
        for block in blocks:
            if block.kind == "narration":
                continue
            fitted = self._placed(block, size, top)
            if fitted is None:
                return None
            if block.kind == "bubble" and placed and placed[-1].block.kind == "bubble":
                previous = placed[-1]
                # Bubbles on different sides may overlap in height, in reading order.
                if previous.block.side != block.side and "center" not in (
                    previous.block.side,
                    block.side,
                ):
                    step = (previous.box[3] - previous.box[1]) // 2
                    fitted = self._placed(block, size, previous.box[1] + step + self.pad) or fitted
                    fitted = self._placed(
                        block, size, max(fitted.box[1], previous.box[1] + step + self.pad)
                    )
                    if fitted is None:
                        return None
            placed.append(fitted)
            top = fitted.box[3] + self.margin
        for block in narration:
            fitted = self._placed(block, size, 0)
            if fitted is None:
                return None
            # The same box, moved to sit on the bottom margin.
            box_height = fitted.box[3] - fitted.box[1]
            left, _, right, _ = fitted.box
            fitted = Placed(block, fitted.body, None, (left, bottom - box_height, right, bottom))
            bottom = fitted.box[1] - self.margin
            placed.append(fitted)
        lowest = max((p.box[3] for p in placed if p.block.kind != "narration"), default=0)
        inside = all(p.box[1] >= 0 and p.box[3] <= height for p in placed)
        return placed if inside and lowest <= bottom + self.margin else None

    def _placed(self, block: Block, size: int, top: int) -> Placed | None:
        width = self._box_width(block)
        inner = width - 2 * self.pad
        fitted = self._set(block, size, inner)
        if fitted is None:
            return None
        body, label = fitted
        label_height = label.height if label else 0
        content_width = max(body.width, label.width if label else 0)
        box_width = width if block.kind != "bubble" else content_width + 2 * self.pad + 2
        box_height = body.height + label_height + 2 * self.pad
        if block.kind == "bubble":
            centre = int(self.width * SIDE_X[block.side])
            left = min(
                max(self.margin, centre - box_width // 2), self.width - self.margin - box_width
            )
        else:
            left = self.margin
        return Placed(block, body, label, (left, top, left + box_width, top + box_height))


def lay_out(
    blocks: Sequence[Block], width: int, height: int, chain: FontChain, language: str
) -> tuple[list[Placed], list[Block], int]:
    """Placed blocks over the image, blocks for the strip below it, and the size used."""
    layout = Layout(width, height, chain, language)
    size = layout.largest
    while size >= layout.smallest:
        placed = layout.place(blocks, size, height)
        if placed is not None:
            return placed, [], size
        size -= max(1, size // 12)
    size = layout.smallest
    # Too much for the image even at the smallest size: the last blocks, in reading order,
    # continue in a strip below the image.
    for keep in range(len(blocks) - 1, -1, -1):
        placed = layout.place(blocks[:keep], size, height)
        if placed is not None:
            return placed, list(blocks[keep:]), size
    return [], list(blocks), size


def draw_placed(
    draw: ImageDraw.ImageDraw, item: Placed, width: int, height: int, unit: float
) -> None:
    left, top, right, bottom = item.box
    line = max(1, int(2 * unit))
    if item.block.kind == "bubble":
        radius = max(6, int(14 * unit))
        target_x = int(width * SIDE_X[item.block.side])
        target_y = int(height * 0.6)
        if target_y > bottom + 6:
            anchor = min(max(left + radius + 4, target_x), right - radius - 4)
            spread = max(5, int(9 * unit))
            tail = [(anchor - spread, bottom - line), (anchor + spread, bottom - line)]
            tip = (target_x, min(target_y, bottom + int(22 * unit)))
            draw.polygon([*tail, tip], fill=BUBBLE_FILL, outline=INK, width=line)
        draw.rounded_rectangle(item.box, radius, fill=BUBBLE_FILL, outline=INK, width=line)
        if target_y > bottom + 6:
            draw.line(
                [(tail[0][0] + line, bottom - line), (tail[1][0] - line, bottom - line)],
                fill=BUBBLE_FILL,
                width=line + 1,
            )
    else:
        draw.rectangle(item.box, fill=CAPTION_FILL, outline=INK, width=line)
    pad = max(3, int(8 * unit))
    inner = (left + pad, top + pad, right - pad, bottom - pad)
    text_top = inner[1]
    align = "center" if item.block.kind == "bubble" else "start"
    if item.label is not None:
        draw_set(draw, item.label, (inner[0], text_top, inner[2], inner[3]), MUTED, align=align)
        text_top += item.label.height
    draw_set(draw, item.body, (inner[0], text_top, inner[2], inner[3]), INK, align=align)


def strip_image(
    blocks: Sequence[Block], width: int, size: int, chain: FontChain, language: str
) -> Image.Image:
    """The blocks that did not fit over the image, as paragraphs on a strip of paper."""
    margin = max(6, int(12 * width / 768))
    paragraphs: list[SetText] = []
    for block in blocks:
        text = (
            f"{block.speaker}: {block.text}"
            if block.kind == "bubble" and block.speaker
            else block.text
        )
        rtl = paragraph_is_rtl(text, language)
        set_text = wrap(text, chain, size, width - 2 * margin, rtl=rtl)
        while set_text is None:  # a single word wider than the page: smaller until it fits
            size -= 1
            set_text = wrap(text, chain, max(4, size), width - 2 * margin, rtl=rtl)
            if size <= 4:
                break
        if set_text is not None:
            paragraphs.append(set_text)
    height = sum(p.height for p in paragraphs) + margin * (len(paragraphs) + 1)
    strip = Image.new("RGB", (width, max(height, margin * 2)), STRIP_FILL)
    draw = ImageDraw.Draw(strip)
    top = margin
    for paragraph in paragraphs:
        draw_set(draw, paragraph, (margin, top, width - margin, top + paragraph.height), INK)
        top += paragraph.height + margin
    return strip
