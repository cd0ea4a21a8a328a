"""Schemathesis against the running local stack, driven by docs/openapi.yaml: the examples,
coverage, fuzzing and stateful phases with every check (server errors, status codes and
bodies the spec does not document, schema-valid requests refused, schema-invalid ones
accepted, missing headers such as Allow on a 405, ...). Zero failures is the bar.

Bounded (max examples per operation, a fixed seed) so the run takes about a minute on two
cores; the whole report is kept in test-artifacts/security/schemathesis.txt.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from stack_helpers import id_token

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "security"
MAX_EXAMPLES = 25
SEED = 20261130
TRANSLATE_422 = """
[[operations]]
include-path = "/jobs/{jobId}:translate"

[operations.checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
"""


def test_schemathesis_finds_nothing_against_the_local_stack(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    executable = Path(sys.executable).with_name("schemathesis")
    command = [
        str(executable),
        "run",
        str(ROOT / "docs" / "openapi.yaml"),
        "--url",
        stack_env["PANELFLOW_API_URL"],
        "--header",
        f"Authorization: Bearer {id_token('schemathesis-user')}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "15",
        "--no-color",
    ]
    # Valid data a deployment may still refuse, besides the default list: translating
    # needs the Google planner, and the stack runs the offline one (422 translation_unavailable).
    (tmp_path / "schemathesis.toml").write_text(TRANSLATE_422)
    # In a scratch folder: schemathesis keeps a cache of its own where it runs.
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path
    )
    report = run.stdout + run.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "schemathesis.txt").write_text(report.replace(id_token("schemathesis-user"), "…"))
    cases = re.search(r"(\d+) generated, (\d+) passed", report)
    print(f"schemathesis: {cases.group(0) if cases else 'no summary'}; exit {run.returncode}")
    assert run.returncode == 0, report[-6000:]
    assert cases is not None and int(cases.group(1)) > 100
    assert "Failures:" not in report
