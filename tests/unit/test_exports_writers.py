"""The export writers: layouts, and PDF, CBZ and MP4 files checked by parsing them back."""

from __future__ import annotations

import io
import json
import math
import shutil
import struct
import subprocess
import zipfile
from xml.etree import ElementTree

import lameenc
import pytest
from PIL import Image
from pypdf import PdfReader

from panelflow.exports import Comic, ComicPanel
from panelflow.exports.cbz import write_cbz
from panelflow.exports.layouts import LAYOUTS, paginate
from panelflow.exports.mp4 import SILENT_PANEL_SECONDS, find_ffmpeg, write_mp4
from panelflow.exports.pages import MARGIN, page_slots
from panelflow.exports.pdf import write_pdf


def tone(seconds: float, rate: int = 22_050) -> bytes:
    """An MP3 of a sine tone lasting ``seconds``."""
    samples = int(seconds * rate)
    pcm = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(samples)
    )
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(pcm) + encoder.flush())


def comic(count: int, language: str = "en", texts: list[str] | None = None) -> Comic:
    colours = ["red", "green", "blue", "yellow", "purple", "orange", "gray"]
    panels = []
    for n in range(count):
        words = texts[n] if texts else f"Caption number {n + 1}"
        panels.append(
            ComicPanel(
                index=n,
                image=Image.new("RGB", (768, 512), colours[n % len(colours)]),
                text=(words, f"Mara: line {n + 1}"),
            )
        )
    return Comic(title="The Lighthouse", language=language, panels=tuple(panels))


def probe_seconds(path_or_bytes: bytes, tmp_path: object) -> float:
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe comes with ffmpeg (scripts/bootstrap.sh installs it)"
    target = tmp_path / "probe.bin"  # type: ignore[operator]
    target.write_bytes(path_or_bytes)
    out = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_name",
            "-of",
            "json",
            str(target),
        ],
        capture_output=True,
        check=True,
    ).stdout
    data = json.loads(out)
    probe_seconds.codecs = [s["codec_name"] for s in data["streams"]]  # type: ignore[attr-defined]
    return float(data["format"]["duration"])


def test_layouts_put_the_right_number_of_panels_on_each_page() -> None:
    assert [len(p) for p in paginate(7, "grid")] == [4, 3]
    assert [len(p) for p in paginate(7, "strip")] == [3, 3, 1]
    assert [len(p) for p in paginate(3, "single")] == [1, 1, 1]
    assert [len(p) for p in paginate(5, "manga")] == [4, 1]
    with pytest.raises(ValueError, match="layout must be one of"):
        paginate(3, "collage")


def test_manga_reads_right_to_left_and_grid_left_to_right() -> None:
    grid, manga = paginate(4, "grid")[0], paginate(4, "manga")[0]
    # The first panel of the reading order: top left in a grid, top right in manga.
    assert grid[0].x < grid[1].x and grid[0].y == grid[1].y
    assert manga[0].x > manga[1].x and manga[0].y == manga[1].y
    assert [s.position for s in manga] == [0, 1, 2, 3]
    strip = paginate(3, "strip")[0]
    assert strip[0].y < strip[1].y < strip[2].y


@pytest.mark.parametrize(
    ("layout", "pages"), [("grid", 2), ("strip", 2), ("single", 5), ("manga", 2)]
)
def test_pdf_has_the_layouts_pages_and_the_captions_as_text_in_reading_order(
    layout: str, pages: int
) -> None:
    data = write_pdf(comic(5), layout)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == pages
    text = "\n".join(page.extract_text() for page in reader.pages)
    positions = [text.index(f"Caption number {n}") for n in range(1, 6)]
    assert positions == sorted(positions), text
    assert "Mara: line 3" in text
    assert reader.metadata is not None and reader.metadata.title == "The Lighthouse"
    # Each panel image is embedded once, as JPEG.
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 5


def test_pdf_text_in_japanese_is_extractable() -> None:
    words = ["灯台守は嵐の夜に光を守った。", "「大丈夫だよ」とマラは言った。"]
    reader = PdfReader(io.BytesIO(write_pdf(comic(2, "ja", words), "grid")))
    text = reader.pages[0].extract_text()
    assert words[0] in text and words[1] in text


def test_pdf_text_in_arabic_comes_back_in_reading_order() -> None:
    words = ["أضاءت مارا المنارة قبل العاصفة.", "قال توماس: العاصفة قادمة في 3 ساعات"]
    reader = PdfReader(io.BytesIO(write_pdf(comic(2, "ar", words), "manga")))
    text = reader.pages[0].extract_text()
    # The words come back in reading order; where an extractor puts the end punctuation and
    # a number inside the line depends on its own bidi handling.
    assert "أضاءت مارا المنارة قبل العاصفة" in text, text
    assert "قال توماس: العاصفة قادمة في" in text, text


@pytest.mark.parametrize("layout", LAYOUTS)
def test_cbz_has_pages_in_order_and_a_comic_info(layout: str) -> None:
    data = write_cbz(comic(6), layout)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        pages = [name for name in names if name.endswith(".jpg")]
        expected = len(paginate(6, layout))
        assert pages == [f"page-{n:03d}.jpg" for n in range(1, expected + 1)]
        assert sorted(pages) == pages
        for name in pages:
            Image.open(io.BytesIO(archive.read(name))).verify()
        info = ElementTree.fromstring(archive.read("ComicInfo.xml"))
    assert info.findtext("Title") == "The Lighthouse"
    assert info.findtext("PageCount") == str(expected)
    assert info.findtext("LanguageISO") == "en"
    assert info.findtext("Manga") == ("YesAndRightToLeft" if layout == "manga" else "No")
    assert [p.get("Image") for p in info.iter("Page")] == [str(n) for n in range(expected)]


def test_cbz_pages_show_the_panels_where_the_layout_puts_them() -> None:
    data = write_cbz(comic(2), "manga")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        page = Image.open(io.BytesIO(archive.read("page-001.jpg"))).convert("RGB")
    # Rows are as tall as the 3:2 panels need, centred on the page: the top row sits above
    # the middle, and nothing is drawn at the very top.
    first, second = page_slots(comic(2), "manga")[0]
    assert second.x < first.x
    assert first.y > 0.1 and first.y + first.height < 0.5
    row = round(MARGIN + (first.y + first.height / 2) * (page.height - 2 * MARGIN))
    # Panel 1 (red) top right, panel 2 (green) top left.
    right = page.getpixel((page.width * 3 // 4, row))
    left = page.getpixel((page.width // 4, row))
    assert right[0] > 200 and right[1] < 60, right
    assert left[1] > 100 and left[0] < 60, left
    assert page.getpixel((page.width // 2, 5)) == (255, 255, 255)


def test_mp4_shows_each_panel_for_its_audio_and_lasts_as_long(tmp_path: object) -> None:
    durations = [2.0, 1.5, 2.5]
    panels = tuple(
        ComicPanel(
            index=n,
            image=Image.new("RGB", (768, 512), "navy"),
            text=(f"panel {n}",),
            audio=tone(seconds),
            audio_duration_ms=int(seconds * 1000),
        )
        for n, seconds in enumerate(durations)
    )
    silent = ComicPanel(index=3, image=Image.new("RGB", (640, 640), "white"), text=())
    data = write_mp4(Comic("Tones", "en", (*panels, silent)), find_ffmpeg())
    measured = [probe_seconds(tone(s), tmp_path) for s in durations]
    expected = sum(measured) + SILENT_PANEL_SECONDS
    seconds = probe_seconds(data, tmp_path)
    assert abs(seconds - expected) / expected < 0.05, (seconds, expected)
    assert sorted(probe_seconds.codecs) == ["aac", "h264"]  # type: ignore[attr-defined]
