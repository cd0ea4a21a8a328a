"""Fixtures the contract tests share: each store they hold to one contract, fake and real."""

from __future__ import annotations

import pytest

from emulator_fixtures import emulator_env, emulators  # noqa: F401
from fakes import InMemoryJobStore


@pytest.fixture(params=["fake", "firestore"])
def store(request: pytest.FixtureRequest):
    """The in-memory fake, then the Firestore adapter on the emulator."""
    if request.param == "fake":
        return InMemoryJobStore()
    request.getfixturevalue("emulator_env")
    from panelflow.adapters.firestore_store import FirestoreJobStore

    return FirestoreJobStore("demo-panelflow")
