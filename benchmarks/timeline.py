"""Where one job's time goes: a 12-panel job on the benchmark's stack, hop by hop.

Starts the stack ``make bench`` uses, with its defaults (sleeping providers: plan 1.0 s,
image 2.0 s, speech 0.5 s), runs ``--warm`` jobs to warm every instance, then ``--jobs``
watched jobs. It prints what the client's listener saw of each, then for each, in seconds
from its request: the API's "job queued", the plan step's steps (``stepsMs``: read,
planner, sheets, save, publish), and each panel's start, claim, produce and record (from
the worker's "panel done" lines). Run: ``make timeline``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any
from unittest import mock

import bench  # the benchmark's own stack settings, client and watcher (same directory)


def log_lines(log_dir: Path, since: float) -> list[tuple[float, str, dict[str, Any]]]:
    """Every structured log line of the functions written at or after ``since``."""
    lines = []
    for name in ("api", "plan", "worker"):
        path = log_dir / f"{name}.log"
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("time", 0) >= since:
                lines.append((float(entry["time"]) - since, name, entry))
    return sorted(lines, key=lambda line: line[0])


def describe(at: float, name: str, entry: dict[str, Any], job_id: str) -> str | None:
    if entry.get("jobId") != job_id:
        return None
    message = entry.get("message")
    if message == "panel done":
        spent = (entry["claimMs"] + entry["produceMs"] + entry["recordMs"]) / 1000
        return (
            f"{at - spent:7.3f}  worker  panel {entry['panelIndex']:2d}: claim "
            f"{entry['claimMs']} ms, produce {entry['produceMs']} ms, record "
            f"{entry['recordMs']} ms, done at {at:.3f}"
        )
    if message == "job planned":
        return f"{at:7.3f}  plan    planned in {entry['planMs']} ms, steps {entry.get('stepsMs')}"
    return f"{at:7.3f}  {name:6s}  {message}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=bench.arguments([]).warm)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--panels", type=int, default=12)
    args = parser.parse_args(argv)
    # The benchmark's own stack, with its default options.
    stack = bench.bench_stack(bench.arguments([]))
    stack.start()
    environment = mock.patch.dict(os.environ, stack.env)
    environment.start()
    try:
        from google.cloud import firestore

        db = firestore.Client(project=stack.env["GOOGLE_CLOUD_PROJECT"])
        client = bench.Session(stack.env["PANELFLOW_API_URL"], "timeline")
        bench.warm_up(client, db, args.warm, args.panels)
        jobs = []
        for _ in range(args.jobs):
            since, started = time.time(), time.perf_counter()
            job_id, _ = client.start(args.panels)
            watcher = bench.JobWatcher(db, job_id)
            watcher.wait(120)
            assert watcher.finished_at and watcher.reading_start_at and watcher.first_panel_at
            print(
                f"job {job_id}: panel 1 seen at {watcher.reading_start_at - started:.3f} s, "
                f"first panel {watcher.first_panel_at - started:.3f} s, "
                f"finished {watcher.finished_at - started:.3f} s"
            )
            jobs.append((since, job_id))
        time.sleep(0.5)  # the last log lines are written after the client saw the end
        for since, job_id in jobs:
            print(f"job {job_id}, from its request:")
            for at, name, entry in log_lines(stack.log_dir, since):
                line = describe(at, name, entry, job_id)
                if line:
                    print(line)
    finally:
        stack.stop()
        environment.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
