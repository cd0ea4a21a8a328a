"""``panelflow export``: follow, download, the path last; the API's refusals made readable."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from panelflow_cli.client import ApiError
from panelflow_cli.export import run_export
from panelflow_cli.main import build_parser


class ScriptedClient:
    """Answers the export calls from a script of export states."""

    def __init__(self, states: list[dict[str, Any]], refuse: ApiError | None = None) -> None:
        self.states = states
        self.refuse = refuse
        self.asked: list[tuple[str, str, str | None, list[int] | None]] = []
        self.downloaded: list[tuple[str, Path]] = []

    def start_export(self, job_id, format, layout, panels):
        self.asked.append((job_id, format, layout, panels))
        if self.refuse:
            raise self.refuse
        return self.states.pop(0)

    def get_export(self, job_id, export_id):
        return self.states.pop(0)

    def get_job(self, job_id):
        return {"title": "The Keeper of Gull Point"}

    def download(self, url: str, target: Path) -> int:
        target.write_bytes(b"%PDF-1.4 test")
        self.downloaded.append((url, target))
        return 13


def _state(status: str, progress: float, **extra: Any) -> dict[str, Any]:
    return {"exportId": "pdf-grid-1", "format": "pdf", "layout": "grid", "panels": [0, 1],
            "status": status, "progress": progress, **extra}  # fmt: skip


def _args(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(["export", *argv])


def test_follows_progress_downloads_and_prints_the_path_last(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    client = ScriptedClient(
        [
            _state("queued", 0.0),
            _state("running", 0.4),
            _state("done", 1.0, size=13, url="http://127.0.0.1:1/signed"),
        ]
    )
    out: list[str] = []
    progress: list[str] = []
    args = _args(["job-1", "--format", "pdf", "--panels", "1,0"])
    code = run_export(client, args, emit=out.append, report=progress.append, sleep=lambda _: None)
    assert code == 0
    assert client.asked == [("job-1", "pdf", None, [1, 0])]
    written = tmp_path / "the-keeper-of-gull-point-grid.pdf"
    assert out == [str(written)] and written.read_bytes().startswith(b"%PDF")
    assert "queued 0%" in progress and "running 40%" in progress


def test_refusals_are_explained(tmp_path: Path) -> None:
    unfinished = ApiError(
        409, {"error": {"code": "job_not_finished", "message": "job j is still running"}}
    )
    client = ScriptedClient([], refuse=unfinished)
    said: list[str] = []
    assert (
        run_export(client, _args(["j", "--format", "pdf"]), emit=said.append, report=said.append)
        == 1
    )
    assert said == ["job j is not finished: job j is still running"]
    bad = ApiError(
        400,
        {"error": {"code": "invalid_argument", "message": "layout: must be one of grid",
                   "errors": [{"field": "layout", "reason": "must be one of grid, strip"}]}},
    )  # fmt: skip
    said.clear()
    client = ScriptedClient([], refuse=bad)
    args = _args(["j", "--format", "pdf", "--layout", "collage", "-o", str(tmp_path / "x.pdf")])
    assert run_export(client, args, emit=said.append, report=said.append) == 1
    assert said == ["the export was refused: layout: must be one of grid, strip"]


def test_a_failed_export_reports_its_reason(tmp_path: Path) -> None:
    failed = _state("failed", 0.4, error={"code": "export_failed", "message": "a panel is gone"})
    client = ScriptedClient([_state("running", 0.2), failed])
    said: list[str] = []
    args = _args(["j", "--format", "pdf", "-o", str(tmp_path / "x.pdf")])
    assert run_export(client, args, emit=said.append, report=said.append, sleep=lambda _: None) == 1
    assert said[-1] == "the export failed: a panel is gone"
    assert not (tmp_path / "x.pdf").exists()
