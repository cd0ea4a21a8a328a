"""Debian's Chromium for the browser tests: where it is and how it is started."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
