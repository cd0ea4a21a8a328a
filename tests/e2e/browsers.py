"""Debian's Chromium for the browser tests: where it is and how it is started."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

# This machine's network is closed: without the background-networking flags Chromium keeps
# trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str:
    path = os.environ.get("PANELFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            "Chromium was not found: run scripts/bootstrap.sh (it installs Debian's chromium) "
            "or set PANELFLOW_CHROMIUM to a Chromium binary"
        )
    return path


def full_page_shot(page: Any, path: Path) -> None:
    """The whole page as a reader scrolling it sees it. Chromium paints an image once it is
    decoded, which a loaded image (``decoding: async``) below the fold need not be yet: a
    capture taken at once shows empty frames where those panels are."""
    page.evaluate("Promise.all([...document.images].map((i) => i.decode().catch(() => null)))")
    page.screenshot(path=str(path), full_page=True)
