"""Session fixtures that start the real emulators (and the whole stack) on free ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from panelflow_cli.stack import LocalStack, StackOptions


@contextmanager
def running(options: StackOptions) -> Iterator[LocalStack]:
    """A stack started from ``options``, stopped however the block ends."""
    stack = LocalStack(options)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def simulated_options(
    state_dir: Path, *, panel_concurrency: int, image_s: float, **env: str
) -> StackOptions:
    """A stack on the simulated providers (plan 0.3 s, image ``image_s``, speech 0.5 s) with
    fast redelivery; ``env`` adds function variables."""
    return StackOptions(
        state_dir=state_dir,
        panel_concurrency=panel_concurrency,
        retry_backoff=(0.0, 1.0),
        function_env={
            "PANELFLOW_PROVIDERS": "simulated",
            "PANELFLOW_SIM_PLAN_S": "0.3",
            "PANELFLOW_SIM_IMAGE_S": str(image_s),
            "PANELFLOW_SIM_SPEECH_S": "0.5",
            **env,
        },
    )


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
