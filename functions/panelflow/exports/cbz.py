"""CBZ: the pages as numbered JPEG files in a zip, with a ComicInfo.xml (ComicRack's schema,
which comic readers use for the title, language and reading direction)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from xml.etree import ElementTree

from panelflow.exports import Comic, Progress, no_progress
from panelflow.exports.layouts import right_to_left
from panelflow.exports.pages import page_image, page_slots

JPEG_QUALITY = 88


def write_cbz(comic: Comic, layout: str, progress: Progress = no_progress) -> bytes:
    """The comic as a CBZ in ``layout``: pages ``page-001.jpg``... in reading order."""
    pages = page_slots(comic, layout)
    buffer = io.BytesIO()
    sizes: list[tuple[int, int, int]] = []
    with zipfile.ZipFile(buffer, "w") as archive:
        for number, slots in enumerate(pages, start=1):
            image = page_image(comic, slots)
            encoded = io.BytesIO()
            image.save(encoded, "JPEG", quality=JPEG_QUALITY)
            data = encoded.getvalue()
            # JPEG is compressed already: stored, so readers can seek into the archive.
            archive.writestr(page_name(number), data, compress_type=zipfile.ZIP_STORED)
            sizes.append((image.width, image.height, len(data)))
            progress(number / len(pages))
        info = comic_info(comic, layout, sizes)
        archive.writestr("ComicInfo.xml", info, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def page_name(number: int) -> str:
    """Zero-padded, so every reader's name sort is the reading order."""
    return f"page-{number:03d}.jpg"


def comic_info(comic: Comic, layout: str, pages: Sequence[tuple[int, int, int]]) -> bytes:
    """ComicInfo.xml: title, page count, language, reading direction and each page."""
    root = ElementTree.Element("ComicInfo")
    root.set("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
    root.set("xmlns:xsd", "http://www.w3.org/2001/XMLSchema")
    # Elements in the schema's order.
    for name, value in (
        ("Title", comic.title or "Comic"),
        ("Notes", "Made with Panelflow"),
        ("PageCount", str(len(pages))),
        ("LanguageISO", comic.language),
        ("Manga", "YesAndRightToLeft" if right_to_left(layout) else "No"),
    ):
        ElementTree.SubElement(root, name).text = value
    listing = ElementTree.SubElement(root, "Pages")
    for number, (width, height, size) in enumerate(pages):
        ElementTree.SubElement(
            listing,
            "Page",
            Image=str(number),
            Type="FrontCover" if number == 0 else "Story",
            ImageWidth=str(width),
            ImageHeight=str(height),
            ImageSize=str(size),
        )
    ElementTree.indent(root)
    return bytes(ElementTree.tostring(root, encoding="utf-8", xml_declaration=True))
