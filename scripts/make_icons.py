#!/usr/bin/env python3
"""Draw the web app's icons (web/icons/*.png) with Pillow: the brand mark, a comic page of
three panels on the accent colour, at the sizes the manifest lists.

    python3 scripts/make_icons.py            # writes web/icons/
    python3 scripts/make_icons.py --check    # exit 1 if the committed icons differ

The maskable icon keeps its drawing inside the central 80 % circle (the safe zone a
launcher may crop to) and fills the rest with the background colour.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "web" / "icons"
ACCENT = (192, 64, 31)  # #c0401f, the page's accent (white on it is 5.3:1)
INK = (31, 29, 26)  # #1f1d1a
PAPER = (246, 241, 231)  # #f6f1e7
# name -> (size, the share of the canvas the mark takes)
ICON_SET = {
    "icon-192.png": (192, 0.86),
    "icon-512.png": (512, 0.86),
    "icon-maskable-512.png": (512, 0.56),
    "apple-touch-icon.png": (180, 0.8),
}


def draw_icon(size: int, share: float) -> Image.Image:
    """The mark centred on a paper background: an ink-framed accent page cut in three panels."""
    image = Image.new("RGB", (size, size), PAPER)
    draw = ImageDraw.Draw(image)
    side = size * share
    left = (size - side) / 2
    top = (size - side) / 2
    stroke = max(3, round(size * 0.045))
    radius = round(side * 0.12)
    box = (left, top, left + side, top + side)
    draw.rounded_rectangle(box, radius=radius, fill=ACCENT, outline=INK, width=stroke)
    middle_x = left + side / 2
    middle_y = top + side * 0.48
    draw.line([(middle_x, top), (middle_x, top + side)], fill=INK, width=stroke)
    draw.line([(left, middle_y), (middle_x, middle_y)], fill=INK, width=stroke)
    # A speech bubble in the right-hand panel.
    bubble = (
        middle_x + side * 0.1,
        top + side * 0.14,
        left + side * 0.88,
        top + side * 0.42,
    )
    draw.ellipse(bubble, fill=PAPER, outline=INK, width=max(2, stroke // 2))
    return image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, (size, share) in ICON_SET.items():
        data = png_bytes(draw_icon(size, share))
        path = ICONS / name
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.write_bytes(data)
    if stale:
        print(f"stale icons: {', '.join(stale)}: run scripts/make_icons.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
