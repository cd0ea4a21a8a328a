"""The web client as an installable phone app, in Debian's Chromium against the local stack.

Playwright's Pixel 7 and iPhone 13 device profiles (and a 360 px wide phone) besides a
desktop: the manifest and service worker make the app installable (Chromium's own
installability check has nothing to say), axe-core finds no serious or critical problem on
any view, nothing scrolls sideways and every control is a 44 px tap target; a comic read
once reads again with the browser offline (images and audio from the worker's cache, keyed
by object path); a job shows live on a phone and a desktop of the same user and a phone
that lost the network catches up without a reload, progress never going backwards; a job
that ends while the page is hidden raises a system notification through the worker; a
shared link opens the comic signed out until its owner revokes it. Screenshots and the
measured figures go to test-artifacts/web/.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from browsers import CHROMIUM_ARGS, chromium_executable, full_page_shot
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from emulator_fixtures import running, simulated_options
from panelflow_cli.identity import Identity
from panelflow_cli.stack import LocalStack
from panelflow_cli.webserver import make_server

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
ARTIFACTS = ROOT / "test-artifacts" / "web"
DOCS_IMAGES = ROOT / "docs" / "images"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
PHONES = ("Pixel 7", "iPhone 13")
STORY = "\n\n".join(
    [
        'Mira found a kite in the shed. "It still flies," Mira said.',
        "Tomas carried it up the dunes at noon.",
        '"Hold the string tight!" Tomas shouted into the wind.',
        "The kite climbed over the lighthouse and the gulls.",
    ]
)
# Waits for the animations that end (the panels' entrance: a fade from 0 and a scale from
# 0.96): sizes and colours are measured as the reader sees them once it is over.
SETTLE = """
    const ending = document.getAnimations().filter(
        (a) => a.effect && a.effect.getComputedTiming().iterations !== Infinity);
    await Promise.all(ending.map((a) => a.finished.catch(() => null)));
"""
# Tap targets: WCAG 2.5.5's 44 CSS px each way.
TAP_TARGETS = (
    """async () => {"""
    + SETTLE
    + """
    return [...document.querySelectorAll(
        'a, button, input, select, textarea, summary, [role=button], label.chip, audio')]
    .filter((e) => {
        const r = e.getBoundingClientRect();
        const style = getComputedStyle(e);
        if (!r.width || !r.height || style.visibility === 'hidden') return false;
        if (e.matches('input[type=radio], input[type=checkbox]')) return false; // its label
        // A link inside a sentence is exempt (WCAG 2.5.8); links standing alone are not.
        return !(e.tagName === 'A' && style.display === 'inline');
    })
    .map((e) => {
        const r = e.getBoundingClientRect();
        return {what: e.outerHTML.slice(0, 90), width: r.width, height: r.height};
    })
    .filter((t) => t.width < 44 || t.height < 44);
}"""
)
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Simulated planner and voice (0.5 s a panel), the offline provider's real pictures,
    two panels at a time: a 12-panel job lasts long enough to go offline in the middle."""
    if not AXE.is_file():
        pytest.fail("web/node_modules/axe-core is missing: run 'npm ci' in web/")
    options = simulated_options(
        tmp_path_factory.mktemp("mobile-stack"),
        panel_concurrency=2,
        image_s=1.0,
        PANELFLOW_IMAGES="offline",
    )
    with running(options) as started:
        yield started


Open = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, playwright: Playwright) -> Iterator[Open]:
    """``open_page(profile)``: a page in a new context (another device with its own storage):
    a Playwright device profile, "360" for a 360 px wide phone, "desktop" otherwise."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(profile: str = "desktop", **options: Any) -> Page:
        if profile == "360":
            settings = {**device_settings(playwright, "Pixel 7")}
            settings["viewport"] = {"width": 360, "height": 780}
            settings["screen"] = {"width": 360, "height": 780}
        elif profile == "desktop":
            settings = {"viewport": {"width": 1280, "height": 900}}
        else:
            settings = device_settings(playwright, profile)
        context = browser.new_context(**settings, **options)
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def device_settings(playwright: Playwright, profile: str) -> dict[str, Any]:
    settings = dict(playwright.devices[profile])
    settings.pop("default_browser_type", None)  # Debian's Chromium runs every profile
    return settings


def identity(stack: LocalStack) -> Identity:
    return Identity.for_stack(stack.env)


def sign_in(page: Page, stack: LocalStack, uid: str, path: str = "/") -> None:
    """Signs in through the page's email form as the Auth emulator user ``uid``."""
    identity(stack).token_for(uid)  # creates the user with these credentials
    page.goto(stack.env["PANELFLOW_WEB_URL"] + path)
    page.fill("#signin-form #email", f"{uid.lower()}@users.panelflow.test")
    page.fill("#signin-form #password", f"pw-{uid}-local")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector(f"#account [data-uid='{uid}']")


def api(stack: LocalStack, uid: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    token = identity(stack).token_for(uid)
    return requests.request(
        method,
        f"{stack.env['PANELFLOW_API_URL']}{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,  # the first call may wait for a cold function on a busy machine
        **kwargs,
    )


def finished_job(stack: LocalStack, uid: str, story: str, panels: int) -> str:
    created = api(stack, uid, "POST", "/jobs", json={"story": story, "panels": panels})
    assert created.status_code == 202, created.text
    job_id = str(created.json()["jobId"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = api(stack, uid, "GET", f"/jobs/{job_id}").json()
        if job["status"] == "completed":
            return job_id
        assert job["status"] not in ("failed", "partial", "cancelled"), job
        time.sleep(0.5)
    pytest.fail(f"job {job_id} did not finish")


def submit_story(page: Page, story: str, panels: int) -> str:
    page.fill("#story", story)
    page.fill("#panels", str(panels))
    page.click("#new-comic button[type=submit]")
    page.wait_for_url(re.compile(r"#/jobs/[0-9a-f]+$"))
    return page.url.rsplit("/", 1)[1]


def wait_finished(page: Page, panels: int) -> None:
    page.wait_for_selector("#job-view[data-status=completed]", timeout=90_000)
    page.wait_for_function(
        f"""() => {{
            const images = [...document.querySelectorAll('.panel img')];
            return images.length === {panels}
                && images.every((i) => i.complete && i.naturalWidth)
                && document.querySelectorAll('.panel audio').length === {panels};
        }}"""
    )


def worker_ready(page: Page) -> None:
    page.wait_for_function("document.documentElement.dataset.sw === 'ready'")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def poll(page: Page, script: str, timeout: float = 60) -> Any:
    """Evaluates an async ``script`` until it gives something truthy (wait_for_function does
    not wait for promises); returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"still nothing after {timeout} s: {script}")
        time.sleep(0.2)


def shot(page: Page, name: str, docs: str = "") -> Path:
    """A full-page screenshot in test-artifacts/web/; with ``docs``, also the screen as the
    phone shows it for docs/images/, written when missing or asked for
    (PANELFLOW_UPDATE_SCREENSHOTS), so a test run leaves the committed tree as it was."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    full_page_shot(page, path)
    target = DOCS_IMAGES / docs
    if docs and (not target.exists() or os.environ.get("PANELFLOW_UPDATE_SCREENSHOTS")):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target))
    return path


def record(name: str, figures: dict[str, Any]) -> None:
    """Measured figures, kept beside the screenshots and printed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "pwa-figures.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known[name] = figures
    path.write_text(json.dumps(known, indent=2) + "\n")
    print(f"{name}: {figures}")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    # Not mid-fade: a panel still fading in has text of too little contrast for a moment.
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {"""
        + SETTLE
        + """
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


# ---- served files ------------------------------------------------------------------------------


def test_manifest_icons_and_worker_are_served_for_installing(stack: LocalStack) -> None:
    web = stack.env["PANELFLOW_WEB_URL"]
    response = requests.get(f"{web}/manifest.webmanifest", timeout=5)
    assert response.headers["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["name"] == "Panelflow" and manifest["short_name"] == "Panelflow"
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["theme_color"] and manifest["background_color"]
    sizes = set()
    for icon in manifest["icons"]:
        fetched = requests.get(f"{web}{icon['src']}", timeout=5)
        assert fetched.headers["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(fetched.content))
        assert f"{image.width}x{image.height}" == icon["sizes"], icon
        sizes.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes

    worker = requests.get(f"{web}/sw.js", timeout=5)
    assert worker.headers["Content-Type"].startswith("text/javascript")
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert worker.headers["Cache-Control"] == "no-cache"
    assert re.search(r"const VERSION = '[0-9a-f]{16}';", worker.text)
    # /s/{token} is the app's page: the view asks the API about the token.
    shared = requests.get(f"{web}/s/abcDEF123", timeout=5)
    assert shared.status_code == 200 and '<script type="importmap">' in shared.text


@pytest.mark.parametrize("profile", ["desktop", *PHONES])
def test_the_app_is_installable(
    stack: LocalStack, playwright: Playwright, tmp_path: Path, profile: str
) -> None:
    # A profile on disk: Chromium never offers to install from an incognito-like context.
    settings = {} if profile == "desktop" else device_settings(playwright, profile)
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=chromium_executable(),
        args=CHROMIUM_ARGS,
        **settings,
    )
    try:
        check_installable(stack, context.new_page(), profile)
    finally:
        context.close()


def check_installable(stack: LocalStack, page: Page, profile: str) -> None:
    page.set_default_timeout(30_000)
    page.goto(stack.env["PANELFLOW_WEB_URL"])
    page.wait_for_selector("#signin-form")
    worker_ready(page)
    # Every icon the manifest names is fetched and decodes to its declared size.
    icons = page.evaluate(
        """async () => {
            const link = document.querySelector('link[rel=manifest]');
            const manifest = await (await fetch(link.href)).json();
            return Promise.all(manifest.icons.map(async (icon) => {
                const bitmap = await createImageBitmap(await (await fetch(icon.src)).blob());
                return [icon.sizes, `${bitmap.width}x${bitmap.height}`];
            }));
        }"""
    )
    assert icons and all(declared == decoded for declared, decoded in icons), icons
    # Chromium's own verdict: the manifest parses, and nothing stops installing.
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == stack.env["PANELFLOW_WEB_URL"].rstrip("/") + "/"
    record(f"installable ({profile})", {"installabilityErrors": errors, "workerScope": scope})


def test_a_new_version_takes_over_on_the_next_load(
    stack: LocalStack, open_page: Open, tmp_path: Path
) -> None:
    """A copy of web/ on its own server: changing a shell file is a new worker, which takes
    over with a notice; the next load runs the new files."""
    copy = tmp_path / "web"
    shutil.copytree(WEB, copy, ignore=shutil.ignore_patterns("node_modules"))
    (copy / "node_modules").symlink_to(WEB / "node_modules")
    server = make_server(copy, "127.0.0.1", 0, env=stack.env)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        page = open_page("Pixel 7")
        page.goto(url)
        worker_ready(page)
        probe = "getComputedStyle(document.documentElement).getPropertyValue('--release').trim()"
        assert page.evaluate(probe) == ""
        assert page.is_hidden("#update-notice")
        with (copy / "styles.css").open("a") as styles:
            styles.write("\n:root {\n  --release: 2;\n}\n")
        page.reload()  # the browser checks sw.js on every load: a new one installs
        page.wait_for_selector("#update-notice:not([hidden])")
        assert "new version" in page.text_content("#update-notice")
        assert page.evaluate(probe) == ""  # this load still ran the old version
        shot(page, "phone-update-notice")
        page.click("#update-reload")
        page.wait_for_function(f"{probe} === '2'")
        shells = page.evaluate(
            "caches.keys().then((k) => k.filter((n) => n.startsWith('panelflow-shell-')))"
        )
        assert len(shells) == 1, shells  # the old version's cache is gone
    finally:
        server.shutdown()
        server.server_close()


# ---- accessibility and the phone layout -------------------------------------------------------


@pytest.fixture(scope="module")
def comic(stack: LocalStack) -> str:
    """A finished 3-panel comic of the user "axel"."""
    return finished_job(stack, "axel", STORY, 3)


@pytest.fixture(scope="module")
def shared_link(stack: LocalStack, comic: str) -> str:
    """A read-only link to that comic: its path, /s/{token}."""
    created = api(stack, "axel", "POST", f"/jobs/{comic}/shares")
    assert created.status_code == 201, created.text
    return str(created.json()["url"])


def visit_every_view(page: Page, stack: LocalStack, job_id: str, link: str) -> Iterator[str]:
    """Opens each view in turn and yields its name once it is on screen."""
    web = stack.env["PANELFLOW_WEB_URL"]
    page.goto(web)
    page.wait_for_selector("#signin-form")
    yield "sign-in"
    page.click("#signin-form button[type=submit]")  # empty: the errors beside the fields
    page.wait_for_selector("[data-error-for=email]:not(:empty)")
    yield "sign-in-errors"
    sign_in(page, stack, "axel")
    page.wait_for_selector(f"#my-comics li[data-job-id='{job_id}']")
    yield "home"
    page.goto(f"{web}/#/jobs/{job_id}")
    wait_finished(page, 3)
    yield "job"
    page.goto(f"{web}/#/account")
    page.wait_for_selector("#delete-account")
    yield "account"
    page.goto(f"{web}/#/jobs/doesnotexist")
    page.wait_for_selector("#job-missing")
    yield "job-missing"
    page.click("#sign-out")
    page.wait_for_selector("#signin-form")
    page.goto(f"{web}{link}")
    page.wait_for_selector("#shared-view[data-state=shown]")
    page.wait_for_function(
        "[...document.querySelectorAll('.panel img')].every((i) => i.complete && i.naturalWidth)"
    )
    yield "shared"
    page.goto(f"{web}/s/not-a-real-token")
    page.wait_for_selector("#share-invalid")
    yield "share-invalid"


@pytest.mark.parametrize("profile", ["desktop", *PHONES])
def test_axe_finds_no_serious_problem_on_any_view(
    stack: LocalStack, open_page: Open, comic: str, shared_link: str, profile: str
) -> None:
    page = open_page(profile)
    problems = {}
    views = []
    for view in visit_every_view(page, stack, comic, shared_link):
        views.append(view)
        found = serious_violations(page)
        if found:
            problems[view] = found
    assert views == [
        "sign-in",
        "sign-in-errors",
        "home",
        "job",
        "account",
        "job-missing",
        "shared",
        "share-invalid",
    ]
    assert problems == {}


@pytest.mark.parametrize("profile", [*PHONES, "360"])
def test_phones_never_scroll_sideways_and_every_control_is_a_44px_target(
    stack: LocalStack, open_page: Open, comic: str, shared_link: str, profile: str
) -> None:
    page = open_page(profile)
    too_small = {}
    for view in visit_every_view(page, stack, comic, shared_link):
        assert page.evaluate(FITS), f"{view} scrolls sideways at {profile}"
        small = page.evaluate(TAP_TARGETS)
        if small:
            too_small[view] = small
        if profile == "Pixel 7" and view in ("home", "job"):
            shot(page, f"phone-{view}", docs=f"web-phone-{view}.png")
    assert too_small == {}


# ---- offline reading ---------------------------------------------------------------------------


def test_a_comic_made_on_the_phone_reads_again_offline(stack: LocalStack, open_page: Open) -> None:
    page = open_page("Pixel 7")
    sign_in(page, stack, "pia")
    worker_ready(page)
    job_id = submit_story(page, STORY, 4)
    wait_finished(page, 4)
    # The worker has every image and audio of the comic, keyed by object path (no query).
    kept = """() => caches.open('panelflow-data').then((c) => c.keys()).then((keys) =>
        keys.map((k) => k.url).filter((u) => /[.](png|jpe?g|webp|wav|mp3|ogg)$/.test(u)))"""
    urls = poll(page, f"({kept})().then((urls) => urls.length >= 8 && urls)")
    assert all("?" not in url and "Signature" not in url for url in urls), urls

    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("#offline-banner:not([hidden])")
    page.wait_for_selector("#job-view[data-status=completed]")
    # Nothing reaches the network: a file the worker does not have fails to load.
    assert page.evaluate("fetch('/not-cached.txt').then(() => 'fetched', () => 'offline')") == (
        "offline"
    )
    page.wait_for_function(
        "[...document.querySelectorAll('.panel img')].filter((i) => i.naturalWidth).length === 4"
    )
    images = page.eval_on_selector_all(
        ".panel img", "images => images.map((i) => i.complete && i.naturalWidth > 0)"
    )
    # Each audio element loads its narration (the worker answers its Range requests).
    audio = page.evaluate(
        """() => Promise.all([...document.querySelectorAll('.panel audio')].map((a) =>
            new Promise((resolve) => {
                if (a.readyState >= 1) return resolve(a.duration);
                a.addEventListener('loadedmetadata', () => resolve(a.duration), {once: true});
                a.addEventListener('error', () => resolve(0), {once: true});
                a.preload = 'metadata';
                a.load();
            })))"""
    )
    assert sum(images) == 4 and len(images) == 4
    assert len(audio) == 4 and all(duration > 0 for duration in audio), audio
    shot(page, "phone-offline-comic", docs="web-phone-offline.png")
    # As the reader sees them: each picture is painted, not the frame's empty ground (#eee7d9).
    for number, art in enumerate(page.query_selector_all(".panel img"), 1):
        seen = Image.open(io.BytesIO(art.screenshot())).convert("RGB")
        ground = sum(1 for pixel in seen.getdata() if pixel == (0xEE, 0xE7, 0xD9))
        share = ground / (seen.width * seen.height)
        assert share < 0.25, f"panel {number} shows as an empty frame ({share:.0%} ground)"
    record(
        "offline reload (Pixel 7)",
        {
            "imagesShown": sum(images),
            "images": len(images),
            "audioPlayable": sum(1 for d in audio if d > 0),
            "audio": len(audio),
            "mediaCachedByPath": len(urls),
        },
    )

    # A comic never opened here cannot show: the page says why instead of waiting.
    page.goto(f"{stack.env['PANELFLOW_WEB_URL']}/#/jobs/neveropenedhere")
    assert "offline" in (page.wait_for_selector("#job-offline").text_content() or "")
    assert serious_violations(page) == []

    # Starting a comic while offline says so, and makes nothing.
    page.click("#job-offline a[href='#/']")
    page.wait_for_selector(f"#my-comics li[data-job-id='{job_id}']")  # from the local cache
    page.fill("#story", "A comic made on a train without signal.")
    page.click("#new-comic button[type=submit]")
    error = page.wait_for_selector("[data-error-for=form]:not(:empty), .form-error:not(:empty)")
    assert "offline" in (error.text_content() or "").lower()
    page.context.set_offline(False)
    mine = api(stack, "pia", "GET", "/jobs").json()["jobs"]
    assert [job["jobId"] for job in mine] == [job_id]


# ---- resume anywhere ---------------------------------------------------------------------------

# Every value of the job view's "finished" count seen on screen, sampled every 50 ms.
WATCH_PROGRESS = """
window.__progress = [];
setInterval(() => {
    const view = document.querySelector('#job-view');
    if (!view || !view.dataset.total || view.dataset.total === '0') return;
    const value = Number(view.dataset.finished);
    if (window.__progress.at(-1) !== value) window.__progress.push(value);
}, 50);
window.__loaded = (window.__loaded || 0) + 1;
"""


def test_a_job_resumes_anywhere_and_a_phone_catches_up_after_losing_the_network(
    stack: LocalStack, open_page: Open
) -> None:
    phone = open_page("Pixel 7")
    desktop = open_page("desktop")
    for page in (phone, desktop):
        page.add_init_script(WATCH_PROGRESS)
        sign_in(page, stack, "rafa")
    story = " ".join(f"Rafa rows past buoy number {n}." for n in range(1, 13))
    job_id = submit_story(phone, story, 12)

    # The desktop lists the new comic live and follows it.
    desktop.wait_for_selector(f"#my-comics li[data-job-id='{job_id}']")
    desktop.click(f"#my-comics li[data-job-id='{job_id}'] a")
    desktop.wait_for_selector(f"#job-view[data-job-id='{job_id}'][data-status=rendering]")

    # The phone loses the network mid-job while the desktop watches it go on.
    phone.wait_for_function("Number(document.querySelector('#job-view').dataset.finished) >= 1")
    phone.context.set_offline(True)
    phone.wait_for_selector("#offline-banner:not([hidden])")
    at_loss = int(phone.get_attribute("#job-view", "data-finished") or 0)
    desktop.wait_for_function(
        f"Number(document.querySelector('#job-view').dataset.finished) >= {at_loss + 3}"
    )
    assert int(phone.get_attribute("#job-view", "data-finished") or 0) < at_loss + 3
    phone.context.set_offline(False)
    phone.wait_for_selector("#offline-banner", state="hidden")
    started = time.monotonic()
    for page in (phone, desktop):
        page.wait_for_selector("#job-view[data-status=completed]", timeout=90_000)
        assert page.get_attribute("#job-view", "data-finished") == "12"
    caught_up = time.monotonic() - started
    for page in (phone, desktop):
        seen = page.evaluate("window.__progress")
        assert seen == sorted(seen) and seen[-1] == 12, seen  # never backwards
        assert page.evaluate("window.__loaded") == 1  # no reload
    record(
        "reconnect (Pixel 7)",
        {"finishedWhenOffline": at_loss, "secondsToCatchUpAfterReconnect": round(caught_up, 2)},
    )

    # The other way round: a comic started on the desktop shows on the phone.
    desktop.click("a.back")
    other = submit_story(desktop, "Rafa ties the boat to the pier.", 1)
    phone.click("a.back")
    phone.wait_for_selector(f"#my-comics li[data-job-id='{other}']")
    phone.click(f"#my-comics li[data-job-id='{other}'] a")
    phone.wait_for_selector(f"#job-view[data-job-id='{other}'][data-status=completed]")


# ---- notifications -----------------------------------------------------------------------------


def test_a_notification_when_a_job_ends_in_the_background(
    stack: LocalStack, open_page: Open
) -> None:
    # Permission is never asked on load, only after the user starts a comic.
    count_asks = """
        window.__asked = 0;
        const ask = Notification.requestPermission.bind(Notification);
        Notification.requestPermission = (...args) => { window.__asked += 1; return ask(...args); };
    """
    first = open_page("Pixel 7")
    first.add_init_script(count_asks)
    sign_in(first, stack, "nico")
    first.wait_for_selector("#new-comic")
    assert first.evaluate("window.__asked") == 0
    submit_story(first, "Nico waters the tomatoes.", 1)
    first.wait_for_function("window.__asked === 1")
    first.wait_for_selector("#job-view[data-status=completed]")

    # Granted: a comic that ends while the page is behind another is notified.
    page = open_page("Pixel 7", permissions=["notifications"])
    sign_in(page, stack, "nico")
    worker_ready(page)
    secret = "The secret recipe is in the blue jar."
    # The page goes behind another before the comic starts (here from another device, the
    # API): a short job could otherwise end while the page still has the focus, and
    # rightly not be notified.
    front = page.context.new_page()
    front.goto("about:blank")
    front.bring_to_front()
    # Playwright tells every page it has the focus; the real browser says it has not.
    page.context.new_cdp_session(page).send(
        "Emulation.setFocusEmulationEnabled", {"enabled": False}
    )
    assert page.evaluate("document.hasFocus()") is False
    story = {"story": f"Nico bakes bread. {secret}", "panels": 2}
    created = api(stack, "nico", "POST", "/jobs", json=story)
    assert created.status_code == 202, created.text
    job_id = str(created.json()["jobId"])
    shown = poll(
        page,
        """() => navigator.serviceWorker.ready
            .then((r) => r.getNotifications())
            .then((list) => list.length ? list.map((n) => ({
                title: n.title, body: n.body, data: n.data, tag: n.tag})) : null)""",
        timeout=90,
    )
    assert [n["tag"] for n in shown] == [f"job-{job_id}"], shown  # this job's, once
    job = api(stack, "nico", "GET", f"/jobs/{job_id}").json()
    assert job["status"] == "completed", job
    notification = shown[0]
    assert notification["title"] == job["title"]
    assert notification["body"] == "Your comic is ready"
    assert notification["data"]["url"].endswith(f"/#/jobs/{job_id}")
    assert secret not in json.dumps(notification) and "bread" not in notification["body"]
    finished = finished_at(stack, job_id)
    delay = notification["data"]["shownAt"] / 1000 - finished
    assert 0 <= delay < 30, delay
    record("notification (Pixel 7)", {"secondsFromJobEndToNotification": round(delay, 3)})


def finished_at(stack: LocalStack, job_id: str) -> float:
    """The job document's finishedAt (epoch seconds), read from the Firestore emulator."""
    host = stack.env["FIRESTORE_EMULATOR_HOST"]
    project = stack.env["GOOGLE_CLOUD_PROJECT"]
    document = requests.get(
        f"http://{host}/v1/projects/{project}/databases/(default)/documents/jobs/{job_id}",
        headers={"Authorization": "Bearer owner"},
        timeout=10,
    ).json()
    field = document["fields"]["finishedAt"]
    return float(field.get("doubleValue", field.get("integerValue", 0)))


# ---- sharing -----------------------------------------------------------------------------------


def test_a_shared_comic_opens_signed_out_until_its_owner_revokes_it(
    stack: LocalStack, open_page: Open
) -> None:
    web = stack.env["PANELFLOW_WEB_URL"]
    job_id = finished_job(stack, "sofia", STORY, 3)
    # On a phone with a share sheet, Share hands the link to it.
    owner = open_page("Pixel 7")
    owner.add_init_script("navigator.share = async (data) => { window.__shared = data; };")
    sign_in(owner, stack, "sofia", f"/#/jobs/{job_id}")
    wait_finished(owner, 3)
    owner.click("#share-job")
    handed = poll(owner, "window.__shared || null", timeout=20)
    assert re.fullmatch(re.escape(web) + r"/s/[A-Za-z0-9_-]{43}", handed["url"]), handed
    assert handed["title"] == owner.text_content(".job-title")
    assert "Link shared" in owner.text_content(".share-status")
    link = handed["url"]
    # Without one (a desktop here), it is copied.
    desktop = open_page("desktop", permissions=["clipboard-read", "clipboard-write"])
    sign_in(desktop, stack, "sofia", f"/#/jobs/{job_id}")
    wait_finished(desktop, 3)
    assert desktop.evaluate("'share' in navigator") is False
    desktop.wait_for_selector("#share-links li")  # the phone's link, listed by date
    desktop.click("#share-job")
    desktop.wait_for_selector(".share-status:text('Link copied')")
    copied = desktop.evaluate("navigator.clipboard.readText()")
    assert copied != link and copied.startswith(f"{web}/s/")
    assert desktop.locator("#share-links li").count() == 2

    # Anyone with the link reads the comic, signed out, in its language.
    reader = open_page("iPhone 13")
    reader.goto(link)
    reader.wait_for_selector("#shared-view[data-state=shown]")
    assert reader.locator("#account *").count() == 0  # nobody signed in
    reader.wait_for_function(
        """() => {
            const images = [...document.querySelectorAll('.panel img')];
            return images.length === 3 && images.every((i) => i.complete && i.naturalWidth);
        }"""
    )
    assert reader.locator(".panel audio").count() == 3
    assert reader.get_attribute("#shared-view", "lang") == "en"
    assert reader.text_content(".job-title") == owner.text_content(".job-title")
    assert serious_violations(reader) == []
    shot(reader, "phone-shared-comic", docs="web-phone-shared.png")

    # The owner stops sharing it (from the phone): the link is no longer valid.
    owner.reload()
    owner.wait_for_selector("#share-links li")
    count = owner.locator("#share-links li").count()
    assert count == 2
    for _ in range(count):
        owner.click("#share-links li .share-revoke >> nth=0")
        owner.wait_for_function(f"document.querySelectorAll('#share-links li').length < {count}")
        count -= 1
    reader.reload()
    notice = reader.wait_for_selector("#share-invalid")
    assert "This link is no longer valid" in (notice.text_content() or "")
    assert reader.locator(".panel img").count() == 0
    shot(reader, "phone-share-revoked")
    # So is the copied one, and a made-up token; the comic itself stays the owner's.
    for address in (copied, f"{web}/s/{'A' * 43}"):
        reader.goto(address)
        reader.wait_for_selector("#share-invalid")
    outsider = api(stack, "tarik", "GET", f"/jobs/{job_id}")
    assert outsider.status_code == 404
