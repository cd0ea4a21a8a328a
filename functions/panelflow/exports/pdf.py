"""PDF: lettered panels on A4 pages, with the panels' words as real, extractable text.

The lettering is part of each panel's image, so the text a reader sees is drawn once. Over
each panel lies the same words as an invisible text layer (text render mode 3, as OCR PDFs
do): selectable, searchable, read aloud by screen readers, and in reading order (panel by
panel, right to left for manga). Invisible text needs no embedded glyphs: Latin text uses
the standard Helvetica, other scripts a standard CID font whose encoding maps Unicode, so
extraction returns the original characters and no font file ships with the function.
"""

from __future__ import annotations

import io
import threading
import unicodedata

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from panelflow.exports import Comic, ComicPanel, Progress, no_progress
from panelflow.exports.layouts import Slot, fit, paginate, right_to_left
from panelflow.exports.pages import panel_aspect

MARGIN = 36.0  # points: half an inch
TEXT_SIZE = 9.0
LATIN_FONT = "Helvetica"
# Adobe-Japan1 with a Unicode (UCS-2) encoding: kana, kanji and Latin.
CJK_FONT = "HeiseiKakuGo-W5"
JPEG_QUALITY = 88
_fonts_registered = threading.Lock()


def write_pdf(comic: Comic, layout: str, progress: Progress = no_progress) -> bytes:
    """The comic as a PDF in ``layout``: one page per page of the layout."""
    _register_fonts()
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer, pagesize=A4, pageCompression=1, lang=comic.language)
    document.setTitle(comic.title or "Comic")
    document.setSubject("A comic made with Panelflow")
    document.setCreator("Panelflow")
    if right_to_left(layout):
        document.setViewerPreference("Direction", "R2L")
    page_w, page_h = A4
    area_aspect = (page_w - 2 * MARGIN) / (page_h - 2 * MARGIN)
    pages = paginate(
        len(comic.panels), layout, panel_aspect=panel_aspect(comic), area_aspect=area_aspect
    )
    for number, slots in enumerate(pages, start=1):
        for slot in slots:
            _draw_panel(document, comic.panels[slot.position], slot)
        document.showPage()
        progress(number / len(pages))
    document.save()
    return buffer.getvalue()


def _draw_panel(document: canvas.Canvas, panel: ComicPanel, slot: Slot) -> None:
    page_w, page_h = A4
    inner_w, inner_h = page_w - 2 * MARGIN, page_h - 2 * MARGIN
    box = (slot.x * inner_w, slot.y * inner_h, slot.width * inner_w, slot.height * inner_h)
    x, top, w, h = fit(panel.image.size, box)
    # Layouts measure from the top; PDF from the bottom.
    left, bottom = MARGIN + x, page_h - MARGIN - top - h
    encoded = io.BytesIO()
    panel.image.convert("RGB").save(encoded, "JPEG", quality=JPEG_QUALITY)
    encoded.seek(0)
    # A JPEG goes into the PDF as it is (DCTDecode), not re-encoded.
    document.drawImage(ImageReader(encoded), left, bottom, w, h)
    text = document.beginText()
    text.setTextRenderMode(3)  # invisible: the lettering in the image is what shows
    y = bottom + h - TEXT_SIZE - 2
    for line in panel.text:
        text.setFont(_font_for(line), TEXT_SIZE)
        text.setTextOrigin(left + 2, max(bottom, y))
        text.textOut(visual_order(line))
        y -= TEXT_SIZE * 1.2
    document.drawText(text)


def visual_order(line: str) -> str:
    """The line as placed on the page, left to right: PDF text is stored in visual order and
    extractors turn right-to-left runs (Arabic, Hebrew) back into reading order, so those
    runs are reversed here; numbers and Latin words inside them keep their own order."""
    if not any(unicodedata.bidirectional(char) in ("R", "AL") for char in line):
        return line
    runs: list[list[str]] = []  # [direction, text]: "r" right to left, "l" left to right
    for char in line:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            direction = "r"
        elif kind in ("L", "EN", "AN"):
            direction = "l"
        else:  # spaces and punctuation join the run they are in (a right-to-left line's first)
            direction = runs[-1][0] if runs else "r"
        if runs and runs[-1][0] == direction:
            runs[-1][1] += char
        else:
            runs.append([direction, char])
    return "".join(text[::-1] if direction == "r" else text for direction, text in reversed(runs))


def _font_for(line: str) -> str:
    try:
        line.encode("cp1252")  # what Helvetica's WinAnsi encoding can show
    except UnicodeEncodeError:
        return CJK_FONT
    return LATIN_FONT


def _register_fonts() -> None:
    with _fonts_registered:
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
