"""Pages as images (the CBZ's pages): lettered panels placed by a layout."""

from __future__ import annotations

from PIL import Image

from panelflow.exports import Comic
from panelflow.exports.layouts import Slot, fit

# A4 at 150 dpi: sharp on a tablet, a few hundred kB a page as JPEG.
PAGE_SIZE = (1240, 1754)
MARGIN = 48


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
