from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator_fixtures import export_env, local_stack, stack_env  # noqa: F401
from panelflow_cli.stack import LocalStack, StackOptions


@pytest.fixture(scope="session")
def simulated_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack whose providers sleep (plan 0.3 s, image 1.0 s, speech 0.5 s) and can be told
    to fail, with fast redelivery so dead letters arrive in seconds."""
    calls = tmp_path_factory.mktemp("calls") / "calls.jsonl"
    options = StackOptions(
        state_dir=tmp_path_factory.mktemp("simulated"),
        panel_concurrency=12,
        retry_backoff=(0.0, 1.0),
        function_env={
            "PANELFLOW_PROVIDERS": "simulated",
            "PANELFLOW_SIM_PLAN_S": "0.3",
            "PANELFLOW_SIM_IMAGE_S": "1.0",
            "PANELFLOW_SIM_SPEECH_S": "0.5",
            "PANELFLOW_SIM_CALL_LOG": str(calls),
        },
    )
    stack = LocalStack(options)
    stack.start()
    stack.call_log = calls  # type: ignore[attr-defined]
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def simulated_env(simulated_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return export_env(simulated_stack, monkeypatch)
