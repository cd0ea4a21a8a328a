from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator_fixtures import (  # noqa: F401
    export_env,
    local_stack,
    running,
    simulated_options,
    stack_env,
)
from fakes.gemini_server import FakeGemini
from fakes.tts_server import FakeTextToSpeech
from panelflow_cli.stack import LocalStack


@pytest.fixture(scope="session")
def simulated_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack whose providers sleep (plan 0.3 s, image 1.0 s, speech 0.5 s) and can be told
    to fail, with fast redelivery so dead letters arrive in seconds."""
    calls = tmp_path_factory.mktemp("calls") / "calls.jsonl"
    options = simulated_options(
        tmp_path_factory.mktemp("simulated"),
        panel_concurrency=12,
        image_s=1.0,
        PANELFLOW_SIM_CALL_LOG=str(calls),
    )
    with running(options) as stack:
        stack.call_log = calls  # type: ignore[attr-defined]
        yield stack


@pytest.fixture
def simulated_env(simulated_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return export_env(simulated_stack, monkeypatch)


@pytest.fixture(scope="module")
def gemini_server() -> Iterator[FakeGemini]:
    """The fake Gemini REST service, one per test module."""
    with FakeGemini() as server:
        yield server


@pytest.fixture(scope="module")
def tts_server() -> Iterator[FakeTextToSpeech]:
    """The fake Cloud Text-to-Speech gRPC service, one per test module."""
    with FakeTextToSpeech() as server:
        yield server


@pytest.fixture
def fake(gemini_server: FakeGemini) -> Iterator[FakeGemini]:
    """The fake Gemini, emptied for this test; models a test withdraws come back after it."""
    gemini_server.reset()
    models = set(gemini_server.models)
    yield gemini_server
    gemini_server.models = models


@pytest.fixture
def tts(tts_server: FakeTextToSpeech) -> FakeTextToSpeech:
    tts_server.reset()
    return tts_server
