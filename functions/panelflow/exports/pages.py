"""Pages as images (the CBZ's pages): lettered panels placed by a layout."""

from __future__ import annotations

from PIL import Image

from panelflow.exports import Comic
from panelflow.exports.layouts import Slot, fit, paginate

# A4 at 150 dpi: sharp on a tablet, a few hundred kB a page as JPEG.
PAGE_SIZE = (1240, 1754)
MARGIN = 48


def page_slots(comic: Comic, layout: str, size: tuple[int, int] = PAGE_SIZE) -> list[list[Slot]]:
    """The layout's pages for this comic, rows sized to its panels."""
    return paginate(
        len(comic.panels),
        layout,
        panel_aspect=panel_aspect(comic),
        area_aspect=(size[0] - 2 * MARGIN) / (size[1] - 2 * MARGIN),
    )


def panel_aspect(comic: Comic) -> float | None:
    """The tallest panel's width / height (lettering may add a strip below an image)."""
    return min((p.image.width / p.image.height for p in comic.panels), default=None)


def page_image(comic: Comic, slots: list[Slot], size: tuple[int, int] = PAGE_SIZE) -> Image.Image:
    """One white page with each slot's panel fitted into its box."""
    page = Image.new("RGB", size, "white")
    inner_w, inner_h = size[0] - 2 * MARGIN, size[1] - 2 * MARGIN
    for slot in slots:
        image = comic.panels[slot.position].image.convert("RGB")
        box = (
            MARGIN + slot.x * inner_w,
            MARGIN + slot.y * inner_h,
            slot.width * inner_w,
            slot.height * inner_h,
        )
        x, y, w, h = fit(image.size, box)
        resized = image.resize((max(1, round(w)), max(1, round(h))), Image.Resampling.LANCZOS)
        page.paste(resized, (round(x), round(y)))
    return page
