"""Panelflow fault drills: the local stack with counting, sleeping providers, every message
delivered twice, workers killed at random, flaky and refusing providers, and cancels.

Prints a table and, as its last line, one JSON object with the figures; exits non-zero
when a guarantee is broken. Run with ``make faults``; ``--small`` is the size that
``make test`` runs (tests/integration/test_faults.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import requests

from bench import post_job
from panelflow.domain.models import TERMINAL_STATES
from panelflow_cli.identity import emulator_token
from panelflow_cli.stack import LocalStack, StackOptions

TERMINAL = TERMINAL_STATES
TAG = re.compile(r"Job (\w+) panel (\d+)")
# The check-then-call window of one worker: far above its milliseconds, far below a panel.
CANCEL_RACE_S = 0.2


@dataclass
class Size:
    duplicate_jobs: int = 20
    flaky_jobs: int = 20
    blocked_jobs: int = 10
    cancel_jobs: int = 8
    kill_jobs: int = 50
    panels: int = 4


SMALL = Size(duplicate_jobs=4, flaky_jobs=4, blocked_jobs=2, cancel_jobs=2, kill_jobs=8)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def story(tag: str, panels: int, mark: dict[int, str] | None = None) -> str:
    mark = mark or {}
    return " ".join(
        f"Job {tag} panel {n} walks to the harbour {mark.get(n, '')}.".replace(" .", ".")
        for n in range(panels)
    )


class Drill:
    def __init__(self, stack: LocalStack, calls: Path) -> None:
        self.stack = stack
        self.calls = calls
        self.api = stack.env["PANELFLOW_API_URL"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {emulator_token('drill', stack.env)}"
        from google.cloud import firestore

        self.db = firestore.Client(project=stack.env["GOOGLE_CLOUD_PROJECT"])

    def start(self, text: str, panels: int) -> str:
        response = post_job(self.http, self.api, {"story": text, "panels": panels})
        return str(response.json()["jobId"])

    def start_many(self, texts: list[str], panels: int) -> list[str]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda text: self.start(text, panels), texts))

    def job(self, job_id: str) -> dict[str, Any]:
        return self.db.collection("jobs").document(job_id).get().to_dict() or {}

    def wait(self, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        jobs: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            jobs = {job_id: self.job(job_id) for job_id in job_ids}
            if all(job.get("status") in TERMINAL for job in jobs.values()):
                break
            time.sleep(0.5)
        return jobs

    def panels(self, job_id: str) -> list[dict[str, Any]]:
        ref = self.db.collection("jobs").document(job_id).collection("panels")
        return [doc.to_dict() or {} for doc in ref.order_by("index").get()]

    def call_rows(self) -> list[dict[str, Any]]:
        if not self.calls.exists():
            return []
        return [json.loads(line) for line in self.calls.read_text().splitlines() if line]

    def finals(self) -> Counter[str]:
        """How many times each job was moved to a final state, from the functions' logs."""
        counts: Counter[str] = Counter()
        for name in ("worker", "dead-letter", "sweeper"):
            for line in self.stack.logs(name).splitlines():
                if line.startswith("{") and '"job finished"' in line:
                    counts[json.loads(line)["jobId"]] += 1
        return counts


def paid_per_panel(rows: list[dict[str, Any]], tags: set[str]) -> Counter[tuple[str, str, str]]:
    paid: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        match = TAG.search(row.get("text", ""))
        if row.get("phase") == "paid" and match and match.group(1) in tags:
            paid[(row["kind"], match.group(1), match.group(2))] += 1
    return paid


def double_counted(drill: Drill, jobs: dict[str, dict[str, Any]]) -> int:
    finals = drill.finals()
    extra = 0
    for job_id, job in jobs.items():
        extra += max(
            0,
            int(job.get("panelsDone", 0))
            + int(job.get("panelsFailed", 0))
            - int(job.get("panelCount", 0)),
        )
        extra += max(0, finals[job_id] - 1)
    return extra


def phase_duplicates(drill: Drill, size: Size) -> dict[str, Any]:
    tags = {f"d{uuid.uuid4().hex[:8]}" for _ in range(size.duplicate_jobs)}
    ids = drill.start_many([story(tag, size.panels) for tag in tags], size.panels)
    jobs = drill.wait(ids, timeout=120)
    paid = paid_per_panel(drill.call_rows(), tags)
    expected = {
        (kind, tag, str(n))
        for kind in ("image", "speech")
        for tag in tags
        for n in range(size.panels)
    }
    return {
        "duplicate_jobs_completed": sum(
            1 for job in jobs.values() if job.get("status") == "completed"
        ),
        "double_counted": double_counted(drill, jobs),
        "double_paid": sum(count - 1 for count in paid.values() if count > 1),
        "unpaid_panels": len(expected - set(paid)),
    }


def phase_flaky(drill: Drill, size: Size) -> dict[str, Any]:
    tags = [f"f{uuid.uuid4().hex[:8]}" for _ in range(size.flaky_jobs)]
    marks = dict.fromkeys(range(size.panels), "SIMULATE-FLAKY")
    ids = drill.start_many([story(tag, size.panels, marks) for tag in tags], size.panels)
    jobs = drill.wait(ids, timeout=240)
    rows = [r for r in drill.call_rows() if any(tag in r.get("text", "") for tag in tags)]
    transient = sum(1 for row in rows if row.get("phase") == "transient")
    attempts = sum(1 for row in rows if row.get("phase") in ("transient", "paid"))
    completed = sum(1 for job in jobs.values() if job.get("status") == "completed")
    return {
        "transient_completed_ratio": round(completed / len(ids), 3),
        "transient_failure_share": round(transient / max(attempts, 1), 3),
        "flaky_double_paid": sum(
            c - 1 for c in paid_per_panel(drill.call_rows(), set(tags)).values() if c > 1
        ),
    }


def phase_blocked(drill: Drill, size: Size) -> dict[str, Any]:
    tags = [f"b{uuid.uuid4().hex[:8]}" for _ in range(size.blocked_jobs)]
    blocked = {1: "SIMULATE-BLOCK", 3: "SIMULATE-BLOCK"}
    ids = drill.start_many([story(tag, size.panels, blocked) for tag in tags], size.panels)
    jobs = drill.wait(ids, timeout=120)
    good = 0
    for job_id, job in jobs.items():
        failed = [p for p in drill.panels(job_id) if p.get("status") == "failed"]
        reasons = all(
            (p.get("error") or {}).get("code") == "content_blocked"
            and (p.get("error") or {}).get("message")
            for p in failed
        )
        if job.get("status") == "partial" and len(failed) == len(blocked) and reasons:
            good += 1
    tries = [
        r
        for r in drill.call_rows()
        if r.get("phase") == "blocked" and any(t in r.get("text", "") for t in tags)
    ]
    return {
        "permanent_terminal_ratio": round(good / len(ids), 3),
        "blocked_attempts_per_panel": round(len(tries) / (len(ids) * len(blocked)), 2),
    }


def phase_cancel(drill: Drill, size: Size) -> dict[str, Any]:
    tags = [f"c{uuid.uuid4().hex[:8]}" for _ in range(size.cancel_jobs)]
    panels = 12
    ids = drill.start_many([story(tag, panels) for tag in tags], panels)
    # Cancel each job once its first panel is done, while others are in flight or queued.
    cancelled_at: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while len(cancelled_at) < len(ids) and time.monotonic() < deadline:
        for job_id, tag in zip(ids, tags, strict=True):
            if tag in cancelled_at:
                continue
            if any(p.get("status") == "done" for p in drill.panels(job_id)):
                response = drill.http.post(f"{drill.api}/jobs/{job_id}:cancel")
                if response.status_code == 200:
                    cancelled_at[tag] = time.time()
        time.sleep(0.1)
    jobs = drill.wait(ids, timeout=60)
    time.sleep(3)  # anything still in flight has had time to try another call
    # A worker checks the job right before each paid call. A check that read the job just
    # before the cancel was committed lets its call start a moment after the cancel has
    # answered: that call never saw the cancel. Calls starting within CANCEL_RACE_S of the
    # answer are counted apart; any later call would be one made after the cancel was seen.
    after = racing = 0
    for row in drill.call_rows():
        match = TAG.search(row.get("text", ""))
        tag = match.group(1) if match else ""
        if row.get("phase") != "start" or tag not in cancelled_at:
            continue
        if row["time"] > cancelled_at[tag] + CANCEL_RACE_S:
            after += 1
        elif row["time"] > cancelled_at[tag]:
            racing += 1
    return {
        "cancelled_jobs": sum(1 for job in jobs.values() if job.get("status") == "cancelled"),
        "calls_after_cancel": after,
        "calls_racing_cancel": racing,
    }


def worker_children(stack: LocalStack) -> list[int]:
    pid = stack.processes["worker"].pid
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def phase_kill(drill: Drill, size: Size, seed: int) -> dict[str, Any]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    chance = random.Random(seed)
    tags = [f"k{uuid.uuid4().hex[:8]}" for _ in range(size.kill_jobs)]
    ids = drill.start_many([story(tag, size.panels) for tag in tags], size.panels)
    stop = threading.Event()
    recoveries: list[float] = []
    watchers: list[threading.Thread] = []
    kills = 0

    def in_flight() -> list[tuple[str, int]]:
        query = drill.db.collection_group("panels").where(
            filter=FieldFilter("status", "==", "rendering")
        )
        return [
            (d.get("jobId"), int(d.get("index"))) for d in query.select(["jobId", "index"]).get()
        ]

    def killer() -> None:
        nonlocal kills
        # The first kill lands while the first panels are surely in flight; then every 1-3 s.
        pause = chance.uniform(0.4, 0.8)
        while not stop.wait(pause):
            pause = chance.uniform(1.0, 3.0)
            victims = in_flight()
            children = worker_children(drill.stack)
            if not victims or not children:
                continue
            os.kill(chance.choice(children), signal.SIGKILL)
            killed_at = time.time()
            kills += 1
            watcher = threading.Thread(
                target=watch_recovery, args=(victims, killed_at), daemon=True
            )
            watchers.append(watcher)
            watcher.start()

    def watch_recovery(victims: list[tuple[str, int]], killed_at: float) -> None:
        deadline = time.time() + 180
        while time.time() < deadline:
            states = []
            for job_id, index in victims:
                doc = (
                    drill.db.collection("jobs")
                    .document(job_id)
                    .collection("panels")
                    .document(f"{index:03d}")
                    .get()
                )
                states.append(doc.get("status") if doc.exists else "done")
            if all(state in ("done", "failed") for state in states):
                recoveries.append(time.time() - killed_at)
                return
            time.sleep(0.25)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    jobs = drill.wait(ids, timeout=300)
    stop.set()
    thread.join()
    # Every job is terminal now, so each watcher ends on its next look; they must end while
    # the emulators still answer, not read a closed stack in the background.
    for watcher in watchers:
        watcher.join(timeout=30)
    terminal = sum(1 for job in jobs.values() if job.get("status") in TERMINAL)
    recoveries.sort()
    p99 = recoveries[min(len(recoveries) - 1, int(0.99 * len(recoveries)))] if recoveries else 0.0
    return {
        "jobs_total": len(ids),
        "jobs_terminal": terminal,
        "jobs_stuck": len(ids) - terminal,
        "jobs_completed_after_kills": sum(
            1 for job in jobs.values() if job.get("status") == "completed"
        ),
        "kills": kills,
        "recover_p50_s": round(recoveries[len(recoveries) // 2], 2) if recoveries else 0.0,
        "recover_p99_s": round(p99, 2),
        "kill_double_counted": double_counted(drill, jobs),
    }


CHECKS = {
    "double_counted": lambda r: r["double_counted"] == 0 and r["kill_double_counted"] == 0,
    "double_paid": lambda r: r["double_paid"] == 0 and r["flaky_double_paid"] == 0,
    "jobs_stuck": lambda r: r["jobs_stuck"] == 0 and r["jobs_terminal"] == r["jobs_total"],
    "transient_completed_ratio": lambda r: r["transient_completed_ratio"] == 1.0,
    "permanent_terminal_ratio": lambda r: r["permanent_terminal_ratio"] == 1.0,
    "calls_after_cancel": lambda r: r["calls_after_cancel"] == 0,
}


def run(size: Size, seed: int = 7, state_dir: Path | None = None) -> dict[str, Any]:
    state = state_dir or Path(tempfile.mkdtemp(prefix="panelflow-faults-"))
    calls = state / "calls.jsonl"
    stack = LocalStack(
        StackOptions(
            state_dir=state / "stack",
            panel_concurrency=16,
            duplicate_deliveries=True,
            lease_seconds=6,
            retry_backoff=(1.0, 2.0),
            sweep_interval_s=2.0,
            web=False,
            function_env={
                "PANELFLOW_PROVIDERS": "simulated",
                "PANELFLOW_SIM_PLAN_S": "0.1",
                "PANELFLOW_SIM_IMAGE_S": "0.6",
                "PANELFLOW_SIM_SPEECH_S": "0.2",
                "PANELFLOW_SIM_FLAKY_RATE": "0.3",
                "PANELFLOW_SIM_CALL_LOG": str(calls),
                # One user starts every job here: the per-user quotas would refuse most of them.
                "PANELFLOW_MAX_ACTIVE_JOBS": "0",
                "PANELFLOW_MAX_PANELS_PER_DAY": "0",
            },
        )
    )
    started = time.monotonic()
    stack.start()
    # google-cloud clients find the emulators through the environment only: set for this
    # run, restored when it ends.
    environment = mock.patch.dict(os.environ, stack.env)
    environment.start()
    results: dict[str, Any] = {}
    try:
        drill = Drill(stack, calls)
        for name, phase in (
            ("duplicates", lambda: phase_duplicates(drill, size)),
            ("flaky", lambda: phase_flaky(drill, size)),
            ("blocked", lambda: phase_blocked(drill, size)),
            ("cancel", lambda: phase_cancel(drill, size)),
            ("kill", lambda: phase_kill(drill, size, seed)),
        ):
            phase_started = time.monotonic()
            results.update(phase())
            log(f"{name}: done in {time.monotonic() - phase_started:.1f} s")
    finally:
        stack.stop()
        environment.stop()
    results["faults_wall_s"] = round(time.monotonic() - started, 1)
    results["checks"] = {name: bool(check(results)) for name, check in CHECKS.items()}
    results["ok"] = all(results["checks"].values())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="the size make test runs")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    results = run(SMALL if args.small else Size(), seed=args.seed)
    for key, value in results.items():
        print(f"{key:<32} {json.dumps(value)}")
    print(json.dumps(results), flush=True)
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
