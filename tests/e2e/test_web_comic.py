"""A finished comic in the web client: lettering over the images, "Play all" with the
read-along highlight, the panel editor, the custom style and the export control.

The whole local stack with its default offline providers (real pictures, real speech from the
local voice) serves the page; the browser is Debian's Chromium, as in test_web.py.
Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route
from test_web import identity, shot, sign_in

from panelflow_cli.stack import LocalStack

# The stack starts inside the first test: give a busy machine time.
pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "images"
STORY = (
    'Ana found a map in the attic. "It leads to the hill," Ana said.\n\n'
    '"Then we climb it at dawn," Leo said. Ana nodded.\n\n'
    "At the top they found a garden full of lanterns."
)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def open_page(browser: Browser, contexts: list[BrowserContext], **options: Any) -> Page:
    context = browser.new_context(**(options or {"viewport": {"width": 1280, "height": 900}}))
    context.set_default_timeout(60_000)  # a busy machine
    contexts.append(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def start_job(stack: LocalStack, uid: str, story: str, **options: object) -> str:
    """Starts a job through the API as ``uid`` (a first request may wait for a cold API)."""
    token = identity(stack).token_for(uid)
    response = requests.post(
        f"{stack.env['PANELFLOW_API_URL']}/jobs",
        json={"story": story, **options},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["jobId"])


@pytest.fixture(scope="module")
def finished_job(local_stack: LocalStack) -> str:
    """One three-panel comic by "rosa", drawn and spoken by the offline providers."""
    return start_job(local_stack, "rosa", STORY, panels=3, style="storybook")


def open_finished(page: Page, stack: LocalStack, job_id: str) -> None:
    sign_in(page, stack, "rosa", f"/#/jobs/{job_id}")
    try:
        page.wait_for_selector("#job-view[data-status=completed]", timeout=240_000)
    except Exception:
        shot(page, "job-not-finished")
        raise
    page.wait_for_function(
        "document.querySelectorAll('.panel audio').length === 3"
        " && [...document.querySelectorAll('.panel img')].every(i => i.complete && i.naturalWidth)"
    )


def test_lettering_is_a_live_text_layer_over_each_image(
    local_stack: LocalStack, finished_job: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, contexts)
    open_finished(page, local_stack, finished_job)
    assert page.locator(".panel .panel-art .lettering").count() == 3
    bubbles = page.eval_on_selector_all(
        ".panel .bubble",
        """bubbles => bubbles.map(b => {
            const art = b.closest('.panel-art').getBoundingClientRect();
            const r = b.getBoundingClientRect();
            return {side: b.dataset.side, text: b.textContent, inside: r.left >= art.left
                && r.right <= art.right && r.top >= art.top && r.bottom <= art.bottom,
                middle: (r.left + r.right) / 2 - (art.left + art.right) / 2, width: art.width};
        })""",
    )
    assert bubbles, "the story has dialogue: there are speech bubbles"
    for bubble in bubbles:
        assert bubble["inside"], bubble
        assert bubble["side"] in ("left", "right", "center")
        if bubble["side"] == "left":
            assert bubble["middle"] < 0, bubble
        elif bubble["side"] == "right":
            assert bubble["middle"] > 0, bubble
        else:
            assert abs(bubble["middle"]) < 2, bubble
    # Each bubble says a dialogue line of its panel, word for word, and so does the text.
    texts = page.eval_on_selector_all(
        ".panel .dialogue .line-text", "lines => lines.map(l => l.textContent)"
    )
    assert sorted(b["text"] for b in bubbles) == sorted(texts)
    assert page.get_attribute(".lettering", "lang") == "en"
    assert page.get_attribute(".lettering", "dir") == "ltr"
    # Selectable: a drag across the first bubble selects its words.
    first = page.locator(".panel .bubble").first.bounding_box()
    assert first
    page.mouse.move(first["x"] + 4, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(first["x"] + first["width"] - 4, first["y"] + first["height"] / 2)
    page.mouse.up()
    selected = page.evaluate("String(window.getSelection()).trim()")
    assert len(selected) >= 3 and selected in bubbles[0]["text"], (selected, bubbles[0])
    assert page.errors == []  # type: ignore[attr-defined]


def test_play_all_reads_along_panel_by_panel(
    local_stack: LocalStack, finished_job: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, contexts)
    open_finished(page, local_stack, finished_job)
    page.evaluate(
        """() => {
            window.readLog = [];
            const controls = document.querySelector('.readalong');
            new MutationObserver(() => {
                const entry = `${controls.dataset.panel}:${controls.dataset.line}`;
                if (entry !== window.readLog[window.readLog.length - 1]) window.readLog.push(entry);
                const lit = document.querySelector('.comic-text .is-speaking');
                if (lit && lit.getAttribute('aria-current') !== 'true') window.readLog.push('!');
            }).observe(controls, {attributes: true});
        }"""
    )
    play = page.locator(".readalong-play")
    play.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".readalong[data-state=playing]")
    assert play.text_content() == "Pause"
    # A line is highlighted while the first panel's audio runs on its own clock (read in one
    # go, as the page moves on).
    lit = page.wait_for_function(
        """() => {
            const panel = document.querySelector('.panel[data-index="0"]');
            const text = panel.querySelector('.comic-text .is-speaking');
            if (!text) return null;
            return {
                current: text.getAttribute('aria-current'),
                panel: panel.getAttribute('aria-current'),
                time: panel.querySelector('audio').currentTime,
                status: document.querySelector('.readalong-status').textContent,
            };
        }"""
    ).json_value()
    assert (lit["current"], lit["panel"]) == ("true", "step"), lit
    assert lit["status"].startswith("Panel 1:"), lit
    # A highlighted line in a bubble, for the record (desktop).
    page.wait_for_selector(".panel[data-index='0'] .bubble.is-speaking", timeout=60_000)
    desktop = shot_viewport(page, "read-along-desktop")
    # Space pauses and resumes: the audio's clock stops, then goes on from there.
    page.keyboard.press("Space")
    page.wait_for_selector(".readalong[data-state=paused]")
    paused_at = page.evaluate("document.querySelector('.panel.is-playing audio').currentTime")
    page.keyboard.press("Space")
    page.wait_for_selector(".readalong[data-state=playing]")
    page.wait_for_function(
        f"document.querySelector('.panel.is-playing audio').currentTime > {paused_at}"
    )
    # → skips to the next panel.
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(".readalong[data-panel='1']")
    page.wait_for_selector(".readalong[data-state=done]", timeout=120_000)
    log = page.evaluate("window.readLog")
    assert "!" not in log, log
    panels = [entry.split(":")[0] for entry in log if entry.split(":")[0]]
    assert panels == sorted(panels, key=int), log  # in order, never back
    assert set(panels) == {"0", "1", "2"}, log
    lines = [entry for entry in log if entry.split(":")[1]]
    assert len(lines) >= 3, log  # at least a line a panel
    assert page.locator(".is-speaking, .is-playing").count() == 0
    assert page.errors == []  # type: ignore[attr-defined]

    if not DOCS.joinpath("web-read-along-desktop.png").exists() or os.environ.get(
        "PANELFLOW_UPDATE_SCREENSHOTS"
    ):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(desktop, DOCS / "web-read-along-desktop.png")


def shot_viewport(page: Page, name: str) -> Path:
    path = shot(page, name)
    page.screenshot(path=str(path))  # what is on screen, not the whole page
    return path


def test_read_along_on_a_phone(
    local_stack: LocalStack,
    finished_job: str,
    browser: Browser,
    contexts: list[BrowserContext],
    playwright: Playwright,
) -> None:
    phone = dict(playwright.devices["Pixel 7"])
    phone.pop("default_browser_type", None)
    page = open_page(browser, contexts, **phone)
    open_finished(page, local_stack, finished_job)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.tap(".readalong-play")
    page.wait_for_selector(".readalong[data-panel='1']", timeout=60_000)
    # A line of panel 2 lit, with the panel scrolled to the top half of the screen.
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.panel[data-index="1"]');
            const r = panel.getBoundingClientRect();
            return panel.querySelector('.is-speaking') && r.top >= 0 && r.top < innerHeight / 2;
        }""",
        timeout=60_000,
    )
    phone_shot = shot_viewport(page, "read-along-phone")
    if not DOCS.joinpath("web-read-along-phone.png").exists() or os.environ.get(
        "PANELFLOW_UPDATE_SCREENSHOTS"
    ):
        shutil.copyfile(phone_shot, DOCS / "web-read-along-phone.png")
    page.tap(".readalong-play")
    page.wait_for_selector(".readalong[data-state=paused]")


def test_the_edit_form_sends_only_the_changes_and_explains_refusals(
    local_stack: LocalStack, finished_job: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, contexts)
    open_finished(page, local_stack, finished_job)
    api = local_stack.env["PANELFLOW_API_URL"]
    sent: list[dict[str, Any]] = []
    answers = [
        (409, {"error": {"code": "panel_busy", "message": "The panel is being drawn."}}),
        (
            400,
            {
                "error": {
                    "code": "invalid_request",
                    "message": "Invalid request",
                    "errors": [
                        {"field": "caption", "reason": "must be at most 200 characters"},
                        {"field": "dialogue[0].text", "reason": "must not be empty"},
                    ],
                }
            },
        ),
    ]

    def answer(route: Route) -> None:
        if route.request.method != "PATCH":
            route.continue_()
            return
        sent.append(json.loads(route.request.post_data or "{}"))
        status, body = answers.pop(0)
        route.fulfill(status=status, json=body)

    page.route(f"{api}/jobs/{finished_job}/panels/0", answer)
    page.click(".panel[data-index='0'] button.panel-edit")
    dialog = page.wait_for_selector("dialog.edit-dialog[open]")
    assert page.input_value("#edit-caption") == page.text_content(
        ".panel[data-index='0'] .comic-text .caption"
    )
    # Speakers come from the comic's characters; each line has a side.
    speakers = page.eval_on_selector_all(
        "#edit-line-0-speaker option", "options => options.map(o => o.value)"
    )
    assert "Ana" in speakers, speakers
    assert page.input_value("#edit-line-0-side") in ("left", "center", "right")
    page.fill("#edit-caption", "A new caption")
    page.select_option("#edit-line-0-side", "right")
    page.click("#edit-panel button[type=submit]")
    busy = page.wait_for_selector("#edit-panel [data-error-for=form]:not(:empty)")
    assert busy.text_content().startswith("Panel 1 is being drawn right now.")
    assert set(sent[0]) == {"caption", "dialogue"}
    assert sent[0]["caption"] == "A new caption"
    assert sent[0]["dialogue"][0]["side"] == "right"
    assert all(set(line) == {"speaker", "text", "side"} for line in sent[0]["dialogue"])

    page.fill("#edit-line-0-text", "")
    page.click("#edit-panel button[type=submit]")
    caption_error = page.wait_for_selector("#edit-panel [data-error-for=caption]:not(:empty)")
    assert caption_error.text_content() == "Caption must be at most 200 characters."
    assert page.get_attribute("#edit-caption", "aria-invalid") == "true"
    line_error = page.text_content("#edit-panel [data-error-for='dialogue.0']")
    assert line_error == "Line 1: Text must not be empty."
    assert page.get_attribute("#edit-line-0-text", "aria-invalid") == "true"
    assert dialog.is_visible()
    shot(page, "edit-panel-errors")
    page.click("#edit-panel button:text('Cancel')")
    page.wait_for_selector("dialog.edit-dialog:not([open])", state="attached")
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_export_control_follows_an_export_to_its_download_link(
    local_stack: LocalStack, finished_job: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """The real API and exporter function: the dialog's choices reach the export, its
    progress is followed, and the signed link downloads the file asked for."""
    page = open_page(browser, contexts)
    open_finished(page, local_stack, finished_job)
    page.click("#export-open")
    page.wait_for_selector("dialog.export-dialog[open]")
    page.select_option("#export-format", "cbz")
    page.select_option("#export-layout", "single")
    # Panel 2 goes first, panel 3 is left out.
    page.click("button[aria-label='Move panel 2 up']")
    page.uncheck("#export-panel-2")
    page.click("#export-form button[type=submit]")
    link = page.wait_for_selector("a.export-download:not([hidden])", timeout=240_000)
    assert (link.text_content() or "").startswith("Download CBZ")
    assert page.get_attribute(".export-dialog .progress", "aria-valuenow") == "100"
    shot(page, "export-done")

    # What the dialog asked for is what the exporter wrote: pages in the chosen order.
    token = identity(local_stack).token_for("rosa")
    api = local_stack.env["PANELFLOW_API_URL"]
    listed = requests.post(
        f"{api}/jobs/{finished_job}/exports",
        json={"format": "cbz", "layout": "single", "panels": [1, 0]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert listed.status_code == 202, listed.text
    export = listed.json()
    assert export["status"] == "done" and export["panels"] == [1, 0], export
    download = requests.get(link.get_attribute("href") or "", timeout=60)
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        pages = [name for name in archive.namelist() if name.endswith(".jpg")]
        info = archive.read("ComicInfo.xml").decode()
    assert pages == ["page-001.jpg", "page-002.jpg"], pages
    assert "<PageCount>2</PageCount>" in info
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_custom_style_is_described_in_a_bounded_field(
    local_stack: LocalStack, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, contexts)
    sign_in(page, local_stack, "sami")
    page.wait_for_selector("#new-comic")
    assert page.locator("#custom-style").is_hidden()
    page.check("input[name=style][value=custom]", force=True)
    page.wait_for_selector("#custom-style:not([hidden])")
    assert page.get_attribute("#styleText", "maxlength") == "300"
    page.fill("#styleText", "x" * 400)  # the field keeps 300
    assert len(page.input_value("#styleText")) == 300
    assert page.text_content("#styleText-count") == "300 / 300"
    page.fill("#styleText", "Ink and wash, muted greens")
    assert page.text_content("#styleText-count") == "26 / 300"
    sent: list[dict[str, Any]] = []
    api = local_stack.env["PANELFLOW_API_URL"]

    def refuse(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        sent.append(json.loads(route.request.post_data or "{}"))
        route.fulfill(
            status=400,
            json={
                "error": {
                    "code": "invalid_request",
                    "message": "Invalid request",
                    "errors": [{"field": "styleText", "reason": "must not name a living artist"}],
                }
            },
        )

    page.route(f"{api}/jobs", refuse)
    page.fill("#story", "Sami planted a tree.")
    page.click("#new-comic button[type=submit]")
    error = page.wait_for_selector("[data-error-for=styleText]:not(:empty)")
    assert error.text_content() == "Your style must not name a living artist."
    assert page.get_attribute("#styleText", "aria-invalid") == "true"
    assert sent[0]["style"] == "custom"
    assert sent[0]["styleText"] == "Ink and wash, muted greens"
    shot(page, "custom-style")
    assert page.errors == []  # type: ignore[attr-defined]


def test_an_edit_goes_to_the_api_and_the_panel_is_made_again_live(
    local_stack: LocalStack, browser: Browser, contexts: list[BrowserContext]
) -> None:
    job_id = start_job(local_stack, "rosa", 'Ana looked up. "Stars," Ana said.', panels=1)
    page = open_page(browser, contexts)
    sign_in(page, local_stack, "rosa", f"/#/jobs/{job_id}")
    page.wait_for_selector("#job-view[data-status=completed]", timeout=180_000)
    page.wait_for_selector(".panel audio")
    audio_file = "document.querySelector('.panel audio')?.getAttribute('src').split('?')[0]"
    first_audio = page.evaluate(audio_file)
    patches: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: patches.append(json.loads(request.post_data or "{}"))
        if request.method == "PATCH"
        else None,
    )
    page.click(".panel button.panel-edit")
    page.wait_for_selector("dialog.edit-dialog[open]")
    # The API's own refusal, beside its field.
    page.fill("#edit-caption", "x" * 500)
    page.click("#edit-panel button[type=submit]")
    refused = page.wait_for_selector("#edit-panel [data-error-for=caption]:not(:empty)")
    assert refused.text_content().startswith("Caption must be at most "), refused.text_content()
    assert refused.text_content().endswith("(got 500).")
    page.fill("#edit-caption", "The night sky, full of stars.")
    page.fill("#edit-line-0-text", "So many stars!")
    with page.expect_response(lambda r: r.request.method == "PATCH") as answered:
        page.click("#edit-panel button[type=submit]")
    assert answered.value.status == 202
    # Words only: spoken again, not drawn again (the lettering is a layer).
    assert answered.value.json()["redo"] == "speech"
    page.wait_for_selector("dialog.edit-dialog:not([open])", state="attached")
    assert page.text_content(".edit-notice") == (
        "Saved: panel 1 is being made again with your changes."
    )
    assert patches[-1]["caption"] == "The night sky, full of stars."
    assert [line["text"] for line in patches[-1]["dialogue"]] == ["So many stars!"]
    # Live from the panel listener: the new words in the lettering and the text, then the
    # panel spoken again (a new audio file).
    page.wait_for_function(
        "document.querySelector('.panel .lettering-caption')?.textContent"
        " === 'The night sky, full of stars.'"
    )
    page.wait_for_selector("#job-view[data-status=completed]", timeout=120_000)
    page.wait_for_function(f"({audio_file} || '{first_audio}') !== '{first_audio}'")
    assert page.text_content(".panel .comic-text .caption") == "The night sky, full of stars."
    assert page.text_content(".panel .bubble") == "So many stars!"
    assert page.errors == []  # type: ignore[attr-defined]
