"""Prints a markdown table of the last N benchmark runs against the goals.

Reads ``benchmarks/results/run-*.json`` (``make bench`` writes one per run), newest last,
so three consecutive runs can be pasted into docs/performance.md as they are:

    python benchmarks/report.py          # the last 3 runs
    python benchmarks/report.py -n 5 --results path/to/results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# (key, goal as text, check) in the order of docs/performance.md; a figure without a goal
# is shown for context.
ROWS: list[tuple[str, str]] = [
    ("efficiency_ratio", "<= 1.10"),
    ("speedup_vs_sequential", ">= 9"),
    ("listener_overhead_ratio", "<= 1.5"),
    ("start_overhead_ratio", "<= 1.5"),
    ("ttfp_reading_order_s", ""),
    ("ttfp_reading_order_ideal_s", ""),
    ("ttfp_reading_order_ratio", "<= 1.05"),
    ("realistic_p50_s", ""),
    ("realistic_p95_s", ""),
    ("realistic_ideal_p95_s", ""),
    ("realistic_ratio_p95", "<= 1.05"),
    ("worker_cpu_s_per_panel", ""),
    ("cold_start_s_max", "<= 1.0"),
    ("job12_s", ""),
    ("ttfp_s", ""),
    ("listener_lag_p99_ms", ""),
    ("listener_raw_p99_ms", ""),
    ("start_p50_ms", ""),
    ("start_baseline_p50_ms", ""),
    ("start_p99_ms", ""),
    ("start_baseline_p99_ms", ""),
    ("panels_lost", "== 0"),
    ("job_doc_writes_per_s_max", "<= 1"),
    ("throughput_panels_per_s", ""),
    ("firestore_writes_per_panel", ""),
    ("firestore_calls_per_panel", ""),
    ("bench_wall_s", ""),
]


def meets(value: float, goal: str) -> bool:
    op, target = goal.split()
    number = float(target)
    return {"<=": value <= number, ">=": value >= number, "==": value == number}[op]


def cell(value: Any, goal: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if goal and isinstance(value, (int, float)):
        return f"{text} ✓" if meets(float(value), goal) else f"**{text} ✗**"
    return text


def load(results: Path, count: int) -> list[dict[str, Any]]:
    runs = sorted(results.glob("run-*.json"))[-count:]
    return [json.loads(path.read_text()) | {"_file": path.name} for path in runs]


def table(runs: list[dict[str, Any]]) -> str:
    header = "| figure | goal | " + " | ".join(f"run {n + 1}" for n in range(len(runs))) + " |"
    lines = [header, "|---|---|" + "---|" * len(runs)]
    lines.append(
        "| finished (UTC) | | " + " | ".join(str(r.get("finished_at", "?")) for r in runs) + " |"
    )
    for key, goal in ROWS:
        cells = " | ".join(cell(run.get(key), goal) for run in runs)
        lines.append(f"| `{key}` | {goal} | {cells} |")
    cells = " | ".join(cell(run.get("cold_start_s"), "") for run in runs)
    lines.append(f"| `cold_start_s` per function | each <= 1.0 | {cells} |")
    verdicts = []
    for run in runs:
        missed = [k for k, g in ROWS if g and run.get(k) is not None and not meets(run[k], g)]
        verdicts.append("all met" if not missed else "missed: " + ", ".join(missed))
    lines.append("| goals | | " + " | ".join(verdicts) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=3, help="how many of the latest runs")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    runs = load(args.results, args.n)
    if not runs:
        print(f"no runs in {args.results} (make bench writes them)", file=sys.stderr)
        return 1
    print(table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
