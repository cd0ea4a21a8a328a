"""Each function's pinned requirements agree with pyproject.toml, and staging is complete."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from panelflow_cli import staging

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", line)
        assert match, f"not an exact pin: {line!r}"
        pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


@pytest.mark.parametrize("function", staging.FUNCTIONS)
def test_function_requirements_are_pinned_like_pyproject(function: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _pins(project["dependencies"])
    required = _pins((ROOT / "functions" / function / "requirements.txt").read_text().splitlines())
    assert required, "a function needs its runtime"
    assert "functions-framework" in required
    for name, version in required.items():
        assert declared.get(name) == version, f"{function}: {name}=={version} vs pyproject"


def test_staging_copies_function_and_core(tmp_path: Path) -> None:
    staged = staging.stage(ROOT, tmp_path)
    for directory in staged.values():
        assert (directory / "main.py").is_file()
        assert (directory / "requirements.txt").is_file()
        assert (directory / "panelflow" / "bootstrap.py").is_file()
        assert not list(directory.rglob("__pycache__"))
    before = staging.digest(staged["orchestrator"])
    (tmp_path / "orchestrator" / "main.py").write_text("# changed\n")
    assert staging.digest(staged["orchestrator"]) != before


def test_bundles_that_letter_carry_every_font_they_use(tmp_path: Path) -> None:
    from panelflow.lettering import font_files

    staged = staging.stage(ROOT, tmp_path)
    fonts = staged["panel_worker"] / "panelflow" / "lettering" / "fonts"
    assert sorted(p.name for p in fonts.iterdir()) == sorted(font_files.FONT_FILES)
    # The orchestrator letters nothing (its planner needs no fonts, nor fontTools).
    assert not (staged["orchestrator"] / "panelflow" / "lettering" / "fonts").exists()
