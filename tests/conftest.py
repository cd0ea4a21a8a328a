"""Shared fixtures: isolated environment for every test."""

from __future__ import annotations

import pytest

_PREFIXES = ("PANELFLOW_", "FIRESTORE_", "PUBSUB_", "STORAGE_", "FIREBASE_", "GOOGLE_")
# Switches of the test run itself, not of the stack: a browser to use, pictures to rewrite.
_TEST_SWITCHES = {"PANELFLOW_CHROMIUM", "PANELFLOW_UPDATE_SCREENSHOTS"}


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's stack or credentials unless it sets them itself."""
    import os

    for name in list(os.environ):
        if name.startswith(_PREFIXES) and name not in _TEST_SWITCHES:
            monkeypatch.delenv(name, raising=False)
