"""Page layouts: which panels go on a page, where, and in what reading order.

A slot's box is a fraction of the page's content area (x, y from the top left, width,
height), so the PDF (in points) and the CBZ (in pixels) place panels alike.
"""

from __future__ import annotations

from dataclasses import dataclass

LAYOUTS = ("grid", "strip", "single", "manga")
# What a layout means, for docs and error messages.
DESCRIPTIONS = {
    "grid": "2x2 panels a page, read left to right",
    "strip": "three rows a page, one panel a row",
    "single": "one panel a page",
    "manga": "2x2 panels a page, read right to left (the first panel top right)",
}


@dataclass(frozen=True)
class Slot:
    # Position of the panel in the comic's panel sequence (its reading order).
    position: int
    x: float
    y: float
    width: float
    height: float


# Cells of one page, in reading order: (column, row) of a grid of (columns, rows).
_CELLS: dict[str, tuple[tuple[int, int], tuple[tuple[int, int], ...]]] = {
    "grid": ((2, 2), ((0, 0), (1, 0), (0, 1), (1, 1))),
    "manga": ((2, 2), ((1, 0), (0, 0), (1, 1), (0, 1))),
    "strip": ((1, 3), ((0, 0), (0, 1), (0, 2))),
    "single": ((1, 1), ((0, 0),)),
}


def right_to_left(layout: str) -> bool:
    return layout == "manga"


def per_page(layout: str) -> int:
    return len(_CELLS[layout][1])


def paginate(
    count: int,
    layout: str,
    gutter: float = 0.02,
    *,
    panel_aspect: float | None = None,
    area_aspect: float = 1.0,
) -> list[list[Slot]]:
    """Lays ``count`` panels out on pages; each page's slots come in reading order.

    With ``panel_aspect`` (the panels' width / height) and ``area_aspect`` (the page's
    content area, width / height), rows are no taller than the panels need and the rows are
    centred on the page, so wide panels do not float in tall empty cells.

    Raises:
        ValueError: an unknown layout.
    """
    if layout not in _CELLS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    (columns, rows), cells = _CELLS[layout]
    width = (1 - gutter * (columns - 1)) / columns
    height = (1 - gutter * (rows - 1)) / rows
    if panel_aspect:
        height = min(height, width * area_aspect / panel_aspect)
    top = (1 - rows * height - gutter * (rows - 1)) / 2
    pages: list[list[Slot]] = []
    for start in range(0, count, len(cells)):
        page = []
        for offset, (column, row) in enumerate(cells[: count - start]):
            x, y = column * (width + gutter), top + row * (height + gutter)
            page.append(Slot(start + offset, x, y, width, height))
        pages.append(page)
    return pages


def fit(
    image_size: tuple[int, int], box: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """The largest rectangle of the image's aspect ratio centred in ``box`` (x, y, w, h)."""
    x, y, w, h = box
    scale = min(w / image_size[0], h / image_size[1])
    fitted_w, fitted_h = image_size[0] * scale, image_size[1] * scale
    return x + (w - fitted_w) / 2, y + (h - fitted_h) / 2, fitted_w, fitted_h
