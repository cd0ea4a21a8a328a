"""benchmarks/timeline.py reads the functions' own log lines into one job's timeline."""

from __future__ import annotations

import json
from pathlib import Path

import timeline


def test_the_timeline_keeps_one_jobs_lines_in_order_with_each_panels_start(
    tmp_path: Path,
) -> None:
    def line(at: float, message: str, **fields: object) -> str:
        return json.dumps({"severity": "INFO", "message": message, "time": at, **fields})

    (tmp_path / "api.log").write_text(
        "$ python -m functions_framework\n"  # the spawn line and other noise are skipped
        + line(99.0, "job queued", jobId="old")
        + "\n"
        + line(100.05, "job queued", jobId="j1")
        + "\n"
    )
    (tmp_path / "plan.log").write_text(
        line(101.2, "job planned", jobId="j1", planMs=1100, stepsMs={"read": 10}) + "\n"
    )
    done = {"claimMs": 50, "produceMs": 2000, "recordMs": 30, "panelIndex": 0}
    (tmp_path / "worker.log").write_text(
        line(103.3, "panel done", jobId="j1", **done)
        + "\n"
        + line(103.35, "panel done", jobId="other", **done)
        + "\n"
    )
    lines = timeline.log_lines(tmp_path, since=100.0)
    assert [name for _, name, _ in lines] == ["api", "plan", "worker", "worker"]
    described = [timeline.describe(at, name, entry, "j1") for at, name, entry in lines]
    assert described[-1] is None  # another job's panel
    assert described[0] is not None and described[0].split() == ["0.050", "api", "job", "queued"]
    assert described[1] is not None and "planned in 1100 ms" in described[1]
    # The panel started claim + produce + record before it was done.
    assert described[2] is not None and described[2].split()[0] == "1.220"
    assert "done at 3.300" in described[2]
