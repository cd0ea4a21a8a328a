"""Text set in lines: measured in the fonts that draw it, wrapped by script, drawn in order.

Lines break between words, or between any two CJK characters (with the kinsoku rules in
``scripts``), never inside a word; a paragraph that does not fit is set smaller, never cut.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from PIL import ImageDraw, ImageFont

from panelflow.domain.writing import paragraph_is_rtl, tokens
from panelflow.lettering.fonts import FontChain, Run, layout_engine

LINE_SPACING = 1.3


def _raqm() -> bool:
    return layout_engine() == ImageFont.Layout.RAQM


@dataclass(frozen=True)
class SetLine:
    """One line: its runs in visual order (left to right) and its width in pixels."""

    runs: tuple[Run, ...]
    width: int
    text: str


@dataclass(frozen=True)
class SetText:
    """A paragraph set at one size."""

    size: int
    lines: tuple[SetLine, ...]
    rtl: bool

    @property
    def line_height(self) -> int:
        return line_height(self.size)

    @property
    def width(self) -> int:
        return max((line.width for line in self.lines), default=0)

    @property
    def height(self) -> int:
        return len(self.lines) * self.line_height

    @property
    def text(self) -> str:
        return "".join(line.text for line in self.lines)


def line_height(size: int) -> int:
    return int(size * LINE_SPACING + 0.5)


def _run_text(run: Run) -> tuple[str, str | None]:
    """The run's text as handed to Pillow, and the direction to lay it out in."""
    if not run.rtl:
        return run.text, None
    if _raqm():
        return run.text, "rtl"
    # Without raqm Pillow lays out left to right and cannot join Arabic letters: reverse
    # the characters so at least the order reads right.
    return run.text[::-1], None


def run_width(run: Run, size: int) -> float:
    text, direction = _run_text(run)
    font = run.face.font(size)
    return font.getlength(text, direction=direction) if direction else font.getlength(text)


def set_line(text: str, chain: FontChain, size: int, rtl: bool) -> SetLine:
    """``text`` as one line: split into runs, ordered for display (a right-to-left
    paragraph shows its runs right to left; each run keeps its own direction)."""
    runs = chain.runs(text.strip())
    visual = tuple(reversed(runs)) if rtl else tuple(runs)
    width = int(sum(run_width(run, size) for run in visual) + 0.5)
    return SetLine(runs=visual, width=width, text=text)


def wrap(text: str, chain: FontChain, size: int, width: int, *, rtl: bool) -> SetText | None:
    """``text`` wrapped to ``width`` at ``size``; None when one unbreakable piece (a word,
    or a CJK character with the punctuation that must stay beside it) is wider than that.

    Pieces are measured once each (words shape on their own: Arabic joins within words), and
    each finished line is measured whole again, so the widths reported are the drawn ones."""
    lines: list[SetLine] = []
    for paragraph in text.split("\n"):
        current, current_width = "", 0.0
        for piece in tokens(" ".join(paragraph.split()) if " " in paragraph else paragraph):
            whole, bare = _piece_widths(piece, chain, size)
            if bare > width:
                return None
            if current and current_width + bare > width:
                lines.append(set_line(current, chain, size, rtl))
                current, current_width = piece, whole
            else:
                current, current_width = current + piece, current_width + whole
        if current.strip():
            lines.append(set_line(current, chain, size, rtl))
    if any(line.width > width for line in lines):
        return None
    return SetText(size=size, lines=tuple(lines), rtl=rtl)


@functools.lru_cache(maxsize=8192)
def _piece_widths(piece: str, chain: FontChain, size: int) -> tuple[float, float]:
    """A piece's width with its trailing space, and without it."""
    whole = sum(run_width(run, size) for run in chain.runs(piece))
    stripped = piece.rstrip()
    bare = whole if stripped == piece else sum(run_width(r, size) for r in chain.runs(stripped))
    return whole, bare


def fit(
    text: str,
    chain: FontChain,
    *,
    width: int,
    height: int,
    largest: int,
    smallest: int,
    language: str,
) -> SetText | None:
    """The largest size from ``largest`` down to ``smallest`` at which ``text`` fits in
    ``width`` x ``height``; None when it does not fit even at ``smallest``."""
    rtl = paragraph_is_rtl(text, language)
    size = largest
    while size >= smallest:
        wrapped = wrap(text, chain, size, width, rtl=rtl)
        if wrapped is not None and wrapped.height <= height:
            return wrapped
        size -= max(1, size // 12)
    return None


def draw_set(
    draw: ImageDraw.ImageDraw,
    block: SetText,
    box: tuple[int, int, int, int],
    fill: str | tuple[int, int, int],
    *,
    align: str = "start",
) -> None:
    """Draws the lines inside ``box``; ``align`` is ``start`` (left, or right for
    right-to-left text) or ``center``."""
    left, top, right, _ = box
    height = block.line_height
    for number, line in enumerate(block.lines):
        if align == "center":
            x = left + (right - left - line.width) / 2
        elif block.rtl:
            x = right - line.width
        else:
            x = left
        baseline = top + number * height + int(block.size * 1.05)
        for run in line.runs:
            text, direction = _run_text(run)
            font = run.face.font(block.size)
            if direction:
                draw.text(
                    (x, baseline), text, font=font, fill=fill, anchor="ls", direction=direction
                )
            else:
                draw.text((x, baseline), text, font=font, fill=fill, anchor="ls")
            x += run_width(run, block.size)
