"""Session fixtures that start the real emulators (and the whole stack) on free ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from panelflow_cli.stack import LocalStack, StackOptions


def _start(tmp: Path, **options: object) -> tuple[LocalStack, dict[str, str]]:
    stack = LocalStack(StackOptions(state_dir=tmp, **options))  # type: ignore[arg-type]
    env = stack.start()
    return stack, env


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Firestore, Pub/Sub and Storage emulators; yields their environment variables."""
    stack, env = _start(tmp_path_factory.mktemp("emulators"), emulators_only=True)
    try:
        yield env
    finally:
        stack.stop()


@pytest.fixture
def emulator_env(emulators: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in emulators.items():
        monkeypatch.setenv(key, value)
    return emulators


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local stack: emulators, the four functions and the delivery relay."""
    stack, _env = _start(tmp_path_factory.mktemp("stack"), panel_concurrency=12)
    try:
        yield stack
    finally:
        stack.stop()
        if os.environ.get("PANELFLOW_KEEP_LOGS"):
            print(stack.log_dir)


def export_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Points this test's clients at ``stack`` (the google-cloud clients read the environment)."""
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    return dict(stack.env)


@pytest.fixture
def stack_env(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return export_env(local_stack, monkeypatch)
