"""The CLI's standalone HTML reader (cli/panelflow_cli/reader.py) in Debian's Chromium.

``write_reader`` is given what ``GET /jobs/{jobId}`` answers, with its asset links pointing at
a small HTTP server on this machine; the page it writes is then opened from the disk, as a
user would open it, with no server and no network. It draws the comic with the web client's
own module (web/src/comic.js): lettering over each image, the full text, "Play all" with the
read-along highlight. Screenshots go to test-artifacts/reader/.
"""

from __future__ import annotations

import http.server
import io
import json
import math
import re
import struct
import threading
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, Playwright

from panelflow_cli import reader

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "reader"
SAMPLE_RATE = 8000


def tone_wav(duration_ms: int) -> bytes:
    """A quiet 440 Hz tone: real audio of a known length that Chromium plays."""
    frames = SAMPLE_RATE * duration_ms // 1000
    samples = b"".join(
        struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE)))
        for n in range(frames)
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE)
        audio.writeframes(samples)
    return out.getvalue()


def scene_png(seed: int) -> bytes:
    """A 768x512 picture with no lettering (as the pipeline draws them)."""
    image = Image.new("RGB", (768, 512), (90 + 40 * seed, 140, 200 - 30 * seed))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 380, 768, 512), fill=(70, 120, 60))
    draw.ellipse((80, 200, 200, 380), fill=(240, 200, 160))  # someone on the left
    draw.ellipse((560, 200, 680, 380), fill=(200, 160, 120))  # someone on the right
    return out_png(image)


def out_png(image: Image.Image) -> bytes:
    data = io.BytesIO()
    image.save(data, "PNG")
    return data.getvalue()


class AssetServer:
    """Serves ``files`` (path -> bytes) on 127.0.0.1; the signed links point here."""

    def __init__(self, files: dict[str, bytes]) -> None:
        served = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = served.get(self.path.split("?", 1)[0])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def comic(language: str, panels: list[dict[str, Any]], title: str) -> dict[str, Any]:
    return {
        "jobId": "j1",
        "title": title,
        "language": language,
        "style": "storybook",
        "status": "completed",
        "panelCount": len(panels),
        "panels": panels,
    }


def panel(
    index: int,
    server: AssetServer,
    files: dict[str, bytes],
    *,
    caption: str,
    narration: str,
    dialogue: list[dict[str, str]],
    lines: list[dict[str, Any]] | None,
    notes: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    image_path = f"/jobs/j1/panels/{index}.png"
    files[image_path] = scene_png(index)
    data: dict[str, Any] = {
        "index": index,
        "status": "done",
        "scene": f"Scene {index + 1}",
        "caption": caption,
        "narration": narration,
        "dialogue": dialogue,
        "image": {
            "path": image_path,
            "url": server.url + image_path + "?X-Goog-Signature=secret",
            "expiresAt": 1,
            "width": 768,
            "height": 512,
        },
        "audio": None,
        "notes": notes or [],
    }
    if lines is not None:
        end = max(line["endMs"] for line in lines)
        audio_path = f"/jobs/j1/panels/{index}.wav"
        files[audio_path] = tone_wav(end + 100)
        data["audio"] = {
            "path": audio_path,
            "url": server.url + audio_path + "?X-Goog-Signature=secret",
            "expiresAt": 1,
            "contentType": "audio/wav",
            "durationMs": end + 100,
            "lines": lines,
        }
    return data


ENGLISH = [
    {
        "caption": "Dawn on the hill.",
        "narration": "Ana and Leo climbed the hill before the sun was up, a long and quiet "
        "climb through wet grass, and nobody said a word until the top.",
        "dialogue": [
            {"speaker": "Ana", "text": "It leads to the hill!", "side": "left"},
            {"speaker": "Leo", "text": "Then we go up.", "side": "right"},
        ],
        "lines": [
            {"speaker": "narrator", "text": "PLACEHOLDER", "startMs": 0, "endMs": 700},
            {"speaker": "Ana", "text": "It leads to the hill!", "startMs": 700, "endMs": 1300},
            {"speaker": "Leo", "text": "Then we go up.", "startMs": 1300, "endMs": 1900},
        ],
    },
    {
        "caption": "The garden.",
        "narration": "",
        "dialogue": [{"speaker": "Ana", "text": "Lanterns, everywhere.", "side": "center"}],
        "lines": [
            {"speaker": "narrator", "text": "The garden.", "startMs": 0, "endMs": 600},
            {"speaker": "Ana", "text": "Lanterns, everywhere.", "startMs": 600, "endMs": 1200},
        ],
    },
    {
        "caption": "Home again.",
        "narration": "They walked home in silence.",
        "dialogue": [],
        "lines": None,  # a voice that could not speak this panel
        "notes": [{"code": "voice_unavailable", "message": "No voice speaks this language."}],
    },
]
ENGLISH[0]["lines"][0]["text"] = ENGLISH[0]["narration"]  # type: ignore[index]

ARABIC = [
    {
        "caption": "في الصباح الباكر",
        "narration": "صعدت أنا وليو التل قبل شروق الشمس.",
        "dialogue": [
            {"speaker": "أنا", "text": "الخريطة تقود إلى التل!", "side": "left"},
            {"speaker": "ليو", "text": "هيا بنا.", "side": "right"},
        ],
        "lines": [
            {
                "speaker": "narrator",
                "text": "صعدت أنا وليو التل قبل شروق الشمس.",
                "startMs": 0,
                "endMs": 600,
            },
            {"speaker": "أنا", "text": "الخريطة تقود إلى التل!", "startMs": 600, "endMs": 1200},
            {"speaker": "ليو", "text": "هيا بنا.", "startMs": 1200, "endMs": 1700},
        ],
    }
]


Written = Callable[[str, list[dict[str, Any]]], Path]


@pytest.fixture
def written(tmp_path: Path) -> Iterator[Written]:
    """Writes a reader for a comic in ``language`` of the given panels; returns index.html."""
    files: dict[str, bytes] = {}
    server = AssetServer(files)

    def write(language: str, specs: list[dict[str, Any]]) -> Path:
        panels = [
            panel(
                index,
                server,
                files,
                caption=spec["caption"],
                narration=spec["narration"],
                dialogue=spec["dialogue"],
                lines=spec["lines"],
                notes=spec.get("notes"),
            )
            for index, spec in enumerate(specs)
        ]
        return reader.write_reader(comic(language, panels, "The Hill"), tmp_path / language)

    yield write
    server.close()


def open_page(browser: Browser, index: Path, **context: Any) -> Page:
    page = browser.new_context(**context).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Nothing but the file itself: any request to a server would fail the test.
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(index.as_uri())
    page.wait_for_selector("figure.comic-panel")
    page.evaluate("document.fonts.ready")
    page.errors = errors  # type: ignore[attr-defined]
    page.requested = requested  # type: ignore[attr-defined]
    return page


def shot(page: Page, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found, selector
    return found


def test_the_reader_keeps_local_copies_and_no_signed_link(written: Written) -> None:
    index = written("en", ENGLISH)
    page = index.read_text()
    assert "X-Goog-Signature" not in page and "127.0.0.1" not in page
    data = json.loads(
        re.search(r'<script type="application/json" id="comic-data">(.*?)</script>', page, re.S)[1]
    )
    assert [p["localImage"] for p in data["panels"]] == [f"assets/00{n}-{n}.png" for n in range(3)]
    assert [p.get("localAudio") for p in data["panels"]] == [
        "assets/000-0.wav",
        "assets/001-1.wav",
        None,
    ]
    for item in data["panels"]:
        assert (index.parent / item["localImage"]).stat().st_size > 1000
    # Readable with scripts off too: the whole narration, as written.
    noscript = re.search(r"<noscript>(.*?)</noscript>", page, re.S)[1]
    assert ENGLISH[0]["narration"] in noscript
    assert "Then we go up." in noscript


def test_lettering_is_live_text_over_the_image_placed_by_side(
    browser: Browser, written: Written
) -> None:
    page = open_page(browser, written("en", ENGLISH))
    first = "#panel-1"
    art = box(page, f"{first} .panel-art img")
    left = box(page, f"{first} .bubble[data-side=left]")
    right = box(page, f"{first} .bubble[data-side=right]")
    caption = box(page, f"{first} .lettering-caption")
    # Over the image, inside it: the caption box at the top, Ana's bubble on the left half,
    # Leo's on the right half.
    for placed in (left, right, caption):
        assert art["x"] <= placed["x"] and placed["x"] + placed["width"] <= art["x"] + art["width"]
        assert (
            art["y"] <= placed["y"] and placed["y"] + placed["height"] <= art["y"] + art["height"]
        )
    middle = art["x"] + art["width"] / 2
    assert left["x"] + left["width"] < middle + 1
    assert right["x"] > middle - 1
    assert caption["y"] < left["y"]
    center = box(page, "#panel-2 .bubble[data-side=center]")
    art2 = box(page, "#panel-2 .panel-art img")
    assert abs((center["x"] + center["width"] / 2) - (art2["x"] + art2["width"] / 2)) < 2
    assert page.text_content(f"{first} .lettering-caption") == "Dawn on the hill."
    # The full narration is there, word for word, with no ellipsis.
    assert page.text_content(f"{first} .comic-text .narration") == ENGLISH[0]["narration"]
    assert "…" not in page.text_content("#panels")
    # Selectable: a drag across the bubble selects its words.
    bubble = left
    page.mouse.move(bubble["x"] + 3, bubble["y"] + bubble["height"] / 2)
    page.mouse.down()
    page.mouse.move(bubble["x"] + bubble["width"] - 3, bubble["y"] + bubble["height"] / 2)
    page.mouse.up()
    selected = page.evaluate("String(window.getSelection())")
    assert len(selected) > 5 and selected in "It leads to the hill!"
    # The lettering scales with the image: half the width, about half the font size.
    big = page.eval_on_selector(
        f"{first} .lettering", "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    page.set_viewport_size({"width": 420, "height": 900})
    small = page.eval_on_selector(
        f"{first} .lettering", "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert small < big * 0.75, (small, big)
    # The note of a panel that has no voice is shown.
    assert page.text_content("#panel-3 .panel-note") == "No voice speaks this language."
    assert page.errors == [] and all(u.startswith("file:") for u in page.requested)  # type: ignore[attr-defined]


def test_an_arabic_comic_reads_right_to_left_in_an_arabic_font(
    browser: Browser, written: Written
) -> None:
    page = open_page(browser, written("ar", ARABIC))
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ar"
    for selector in (".lettering", ".comic-text", ".bubble"):
        assert page.get_attribute(f"#panel-1 {selector}", "dir") == "rtl", selector
    assert page.get_attribute("#panel-1 .lettering", "lang") == "ar"
    font = page.eval_on_selector(".lettering", "e => getComputedStyle(e).fontFamily")
    assert font.startswith('"Noto Sans Arabic"'), font
    # Sides stay where the speakers stand in the picture, whatever the text direction.
    art = box(page, "#panel-1 .panel-art img")
    assert box(page, ".bubble[data-side=left]")["x"] < art["x"] + art["width"] / 2
    assert box(page, ".bubble[data-side=right]")["x"] > art["x"] + art["width"] / 2
    # The caption box starts on the right.
    caption = box(page, ".lettering-caption")
    assert caption["x"] + caption["width"] > art["x"] + art["width"] * 0.9
    shot(page, "reader-arabic")


def speaking_log(page: Page) -> None:
    """Records, in the page, every change of the line highlighted and of the panel playing."""
    page.evaluate(
        """() => {
            window.readLog = [];
            const controls = document.querySelector('.readalong');
            window.readTimes = [];
            new MutationObserver(() => {
                const speaking = document.querySelector('.comic-text .is-speaking');
                const entry = `${controls.dataset.panel}:${controls.dataset.line}`;
                const last = window.readLog[window.readLog.length - 1];
                if (entry !== last) {
                    window.readLog.push(entry);
                    // Where the panel's audio was when the highlight moved.
                    const audio = document.querySelector('.is-playing audio');
                    window.readTimes.push(audio ? audio.currentTime : null);
                }
                if (speaking && speaking.getAttribute('aria-current') !== 'true') {
                    window.readLog.push('missing aria-current');
                }
            }).observe(controls, { attributes: true });
        }"""
    )


def test_play_all_reads_along_in_order_and_skips_a_silent_panel(
    browser: Browser, written: Written
) -> None:
    page = open_page(browser, written("en", ENGLISH))
    speaking_log(page)
    page.click(".readalong-play")
    # A highlighted line, with the audio element's own clock running.
    # While Ana's line is lit, everything agrees (read in one go, as the page moves on).
    lit = page.wait_for_function(
        """() => {
            const text = document.querySelector('#panel-1 .comic-text [data-line=d0]');
            if (!text.classList.contains('is-speaking')) return null;
            return {
                current: text.getAttribute('aria-current'),
                bubble: document.querySelector('#panel-1 .bubble[data-line=d0]')
                    .classList.contains('is-speaking'),
                panel: document.querySelector('#panel-1').getAttribute('aria-current'),
                status: document.querySelector('.readalong-status').textContent,
            };
        }"""
    ).json_value()
    assert lit == {
        "current": "true",
        "bubble": True,
        "panel": "step",
        "status": "Panel 1: Ana: It leads to the hill!",
    }
    shot(page, "reader-read-along")
    # The silent panel shows its note, then the comic ends.
    page.wait_for_selector(".readalong[data-panel='2'][data-silent=true]")
    assert "No voice speaks this language." in page.text_content(".readalong-status")
    page.wait_for_selector(".readalong[data-state=done]", timeout=15_000)
    log = page.evaluate("window.readLog")
    assert "missing aria-current" not in log
    times = page.evaluate("window.readTimes")
    spoken = [(entry, time) for entry, time in zip(log, times, strict=True) if entry[-1] != ":"]
    assert [entry for entry, _ in spoken] == ["0:narration", "0:d0", "0:d1", "1:caption", "1:d0"]
    # Each line lit when the audio's own clock reached its start (within a frame or a
    # timeupdate of it): the times come from audio.lines, not from a timer of the page.
    starts = [0.0, 0.7, 1.3, 0.0, 0.6]
    for (entry, time), start in zip(spoken, starts, strict=True):
        assert start <= time < start + 0.35, (entry, time, start)
    assert page.locator(".is-speaking, .is-playing").count() == 0
    assert page.text_content(".readalong-status") == "End of the comic."


def test_play_all_pauses_resumes_and_moves_by_keyboard(browser: Browser, written: Written) -> None:
    page = open_page(browser, written("en", ENGLISH))
    play = page.locator(".readalong-play")
    assert play.get_attribute("aria-describedby")
    play.focus()
    page.keyboard.press("Space")
    page.wait_for_selector(".readalong[data-state=playing][data-panel='0']")
    assert play.text_content() == "Pause"
    page.wait_for_function("document.querySelector('#panel-1 audio').currentTime > 0.2")
    page.keyboard.press("Enter")
    page.wait_for_selector(".readalong[data-state=paused]")
    paused_at = page.eval_on_selector("#panel-1 audio", "a => a.currentTime")
    assert page.eval_on_selector("#panel-1 audio", "a => a.paused")
    assert play.text_content() == "Resume"
    page.keyboard.press("Enter")
    page.wait_for_selector(".readalong[data-state=playing]")
    page.wait_for_function(f"document.querySelector('#panel-1 audio').currentTime > {paused_at}")
    # → goes to the next panel and plays it from its start; ← comes back.
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(".readalong[data-panel='1']")
    assert page.eval_on_selector("#panel-1 audio", "a => a.paused && a.currentTime === 0")
    page.wait_for_function("!document.querySelector('#panel-2 audio').paused")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(".readalong[data-panel='0']")
    page.wait_for_function("!document.querySelector('#panel-1 audio').paused")
    page.keyboard.press("Escape")
    page.wait_for_selector(".readalong[data-state=idle]")
    assert page.eval_on_selector("#panel-1 audio", "a => a.paused")
    assert page.locator(".is-speaking").count() == 0


def test_read_along_on_a_phone_scrolls_to_the_panel_playing(
    browser: Browser, written: Written, playwright: Playwright
) -> None:
    phone = dict(playwright.devices["Pixel 7"])
    phone.pop("default_browser_type", None)
    page = open_page(browser, written("en", ENGLISH), **phone)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.tap(".readalong-play")
    page.wait_for_selector("#panel-2 .comic-text [data-line=d0].is-speaking", timeout=15_000)
    # The panel playing is on screen.
    page.wait_for_function(
        """() => {
            const r = document.querySelector('#panel-2').getBoundingClientRect();
            return r.top < innerHeight && r.bottom > 0;
        }"""
    )
    shot(page, "reader-read-along-phone")
