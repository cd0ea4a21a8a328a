"""The panelflow command as a user runs it, in its own processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from panelflow_cli.stack import LocalStack

pytestmark = pytest.mark.stack

CLI = [sys.executable, "-m", "panelflow_cli.main"]


def _run(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        CLI + args, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _cli_env(stack: LocalStack, uid: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env.update(PANELFLOW_STATE_DIR=str(stack.state_dir), PANELFLOW_UID=uid)
    return env


def test_generate_follow_json_writes_a_reader(local_stack: LocalStack, tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text(
        'Ana found a map. "It leads to the hill," Ana said. Leo packed the bags. '
        "They walked all day. At the top they found a garden."
    )
    result = _run(
        ["generate", "--file", str(story), "--panels", "4", "--follow", "--json"],
        _cli_env(local_stack, "gina"),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {"jobId", "status", "panels", "panelsDone", "panelsFailed", "reader"}
    assert summary["status"] == "completed"
    assert (summary["panels"], summary["panelsDone"], summary["panelsFailed"]) == (4, 4, 0)
    # The progress bar was fed by the listener panel by panel.
    assert re.search(r"\[#+-+\] [123]/4 panels", result.stderr), result.stderr

    reader = Path(summary["reader"])
    page = reader.read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    audios = re.findall(r'<audio controls preload="none" src="([^"]+)"', page)
    assert len(images) == 4 and len(audios) == 4
    for src in images:
        with Image.open(reader.parent / src) as image:
            assert image.size == (768, 512)
    assert all((reader.parent / src).stat().st_size > 1000 for src in audios)

    # Another device picks the same job up by id and sees the same result.
    watched = _run(["watch", summary["jobId"], "--json", "--quiet"], _cli_env(local_stack, "gina"))
    assert watched.returncode == 0, watched.stderr
    assert json.loads(watched.stdout.strip().splitlines()[-1])["jobId"] == summary["jobId"]
    listed = _run(["jobs", "--json"], _cli_env(local_stack, "gina"))
    assert summary["jobId"] in [job["jobId"] for job in json.loads(listed.stdout)]
    # A different user cannot watch it.
    assert _run(["watch", summary["jobId"]], _cli_env(local_stack, "hank")).returncode == 1


def test_generate_rejects_bad_input_with_field_and_reason(local_stack: LocalStack) -> None:
    result = _run(["generate", "   ", "--json"], _cli_env(local_stack, "ivy"))
    assert result.returncode == 2
    assert "rejected: story: must not be empty" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] == 400


def test_demo_runs_the_whole_job_and_stops_the_stack(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env["PANELFLOW_STATE_DIR"] = str(tmp_path / "state")
    result = _run(["demo", "--panels", "4"], env, timeout=240)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed" and summary["panelsDone"] == 4
    assert Path(summary["reader"]).is_file()
    assert not (tmp_path / "state" / "stack.json").exists()
    assert not (tmp_path / "state" / "local.env").exists()
