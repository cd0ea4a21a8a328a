"""Panelflow benchmark: the local stack with latency-injected (sleeping) providers.

Prints a table and, as its last line, one JSON object with every figure. Run with
``make bench``; options: ``python benchmarks/bench.py --help``.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

import requests

from panelflow.domain.models import TERMINAL_STATES, PanelRequest
from panelflow_cli import environments
from panelflow_cli.identity import emulator_token
from panelflow_cli.stack import HOST, LocalStack, StackOptions, free_port

ROOT = Path(__file__).resolve().parents[1]
STATE = Path(tempfile.mkdtemp(prefix="panelflow-bench-"))
CALL_LOG = STATE / "sim-calls.jsonl"


TERMINAL = TERMINAL_STATES
TARGETS = {
    "efficiency_ratio": ("<=", 1.10),
    "speedup_vs_sequential": (">=", 9),
    "start_overhead_ratio": ("<=", 1.5),
    "listener_overhead_ratio": ("<=", 1.5),
    "panels_lost": ("==", 0),
    "job_doc_writes_per_s_max": ("<=", 1),
    "worker_import_s": ("<=", 0.8),
    "ttfp_reading_order_ratio": ("<=", 1.05),
    "realistic_ratio_p95": ("<=", 1.05),
    "cold_start_s_max": ("<=", 1.0),
}
# The real-world scenario: lognormal provider latencies as (median s, sigma). Image: median
# 8 s, p95 20 s, so sigma = ln(20 / 8) / 1.645. Plan: median 6 s, sigma 0.4 (p95 11.6 s);
# speech: median 1.5 s, sigma 0.3 (p95 2.5 s) -- our choices, as no p95 was given.
REALISTIC = {
    "plan": (6.0, 0.4),
    "image": (8.0, math.log(20 / 8) / 1.645),
    "speech": (1.5, 0.3),
}
REALISTIC_SEED = 14


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def story(panels: int) -> str:
    return " ".join(f"Scene {n}: Mira walks along the harbour at dusk." for n in range(panels))


class Session:
    """An authenticated client of the stack's API."""

    def __init__(self, api: str, uid: str, *, keyed: bool = True) -> None:
        self.api = api
        self.uid = uid
        self.keyed = keyed
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {emulator_token(uid)}"

    def start(self, panels: int) -> tuple[str, float]:
        started = time.perf_counter()
        response = self.create({"story": story(panels), "panels": panels})
        elapsed = time.perf_counter() - started
        return response.json()["jobId"], elapsed

    def create(self, body: dict[str, Any]) -> requests.Response:
        """POST /jobs as the web client and the CLI send it: with an Idempotency-Key, and
        sent again once when the connection is lost. The functions' server closes a kept
        connection after 2 s idle, and a request sent just then is reset; the key makes
        the second send answer with the first one's job, never a second job. ``keyed``
        False (the start-latency comparison, whose bare baseline has no key) sends neither
        key nor retry: its requests follow each other with no idle gap."""
        if not self.keyed:
            response = self.http.post(f"{self.api}/jobs", json=body, timeout=60)
            response.raise_for_status()
            return response
        return post_job(self.http, self.api, body)


def post_job(http: requests.Session, api: str, body: dict[str, Any]) -> requests.Response:
    """POST /jobs with a fresh Idempotency-Key, sent again once if the connection is lost
    (a kept connection the server closed after 2 s idle): the key makes the repeat answer
    with the first send's job. Raises for an error status."""
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    try:
        response = http.post(f"{api}/jobs", json=body, headers=headers, timeout=60)
    except requests.ConnectionError:
        response = http.post(f"{api}/jobs", json=body, headers=headers, timeout=60)
    response.raise_for_status()
    return response


class JobWatcher:
    """One Firestore listener on a job and its panels: what a client sees, and when."""

    def __init__(self, db: Any, job_id: str) -> None:
        self.job_id = job_id
        self.done = threading.Event()
        self.status = ""
        self.first_panel_at: float | None = None
        # When panel 1 (index 0) was done: where a reader starts.
        self.reading_start_at: float | None = None
        self.finished_at: float | None = None
        self.lags_ms: list[float] = []
        self._reading = threading.Event()
        ref = db.collection("jobs").document(job_id)
        self._watches = [
            ref.on_snapshot(self._on_job),
            ref.collection("panels").on_snapshot(self._on_panels),
        ]

    def _on_job(self, snapshots: list[Any], _changes: Any, _read: Any) -> None:
        now = time.perf_counter()
        for snapshot in snapshots:
            if snapshot.exists:
                self.status = snapshot.get("status")
                if self.status in TERMINAL and self.finished_at is None:
                    self.finished_at = now
                    self.done.set()

    def _on_panels(self, _snapshots: list[Any], changes: list[Any], _read: Any) -> None:
        now_wall, now = time.time(), time.perf_counter()
        for change in changes:
            data = change.document.to_dict() or {}
            if data.get("status") == "done":
                if self.first_panel_at is None:
                    self.first_panel_at = now
                if data.get("index") == 0 and self.reading_start_at is None:
                    self.reading_start_at = now
                    self._reading.set()
                update = change.document.update_time
                if update is not None and change.type.name == "MODIFIED":
                    self.lags_ms.append((now_wall - update.timestamp()) * 1000)

    def wait(self, timeout: float) -> None:
        if not self.done.wait(timeout):
            raise TimeoutError(f"job {self.job_id} not finished after {timeout} s ({self.status})")
        # The job and its panels are two listeners, each with its own stream: on a busy
        # machine the job's end can arrive before panel 1's change. A completed job's panel 1
        # is done, so its change is on the way.
        if self.status == "completed" and not self._reading.wait(timeout):
            raise TimeoutError(f"job {self.job_id} completed, panel 1 never seen done")
        for watch in self._watches:
            watch.unsubscribe()


def raw_listener_lag(db: Any, rounds: int = 8, burst: int = 12) -> list[float]:
    """Write → onSnapshot on the same emulator with nothing of ours in between, in the
    pattern a job produces: a collection listener, ``burst`` documents updated at once."""
    collection = db.collection("benchRaw").document(uuid.uuid4().hex).collection("panels")
    docs = [collection.document(f"{n:03d}") for n in range(burst)]
    for doc in docs:
        doc.set({"status": "rendering", "n": -1})
    lags: list[float] = []
    lock = threading.Lock()

    def on_change(_snapshots: list[Any], changes: list[Any], _read: Any) -> None:
        now = time.time()
        with lock:
            for change in changes:
                if change.type.name == "MODIFIED" and change.document.update_time is not None:
                    lags.append((now - change.document.update_time.timestamp()) * 1000)

    watch = collection.on_snapshot(on_change)
    time.sleep(0.3)
    with ThreadPoolExecutor(max_workers=burst) as pool:
        for n in range(rounds):
            update = {"status": "done", "n": n}
            list(pool.map(lambda doc, update=update: doc.update(update), docs))
            time.sleep(0.3)
    watch.unsubscribe()
    return lags


def import_time(directory: Path, runs: int = 5) -> float:
    """Cold import of a staged function's main module (median of runs), in a fresh
    interpreter of the function's own environment: what a new instance pays before it serves."""
    code = "import time; t = time.perf_counter(); import main; print(time.perf_counter() - t)"
    command = [str(environments.python(environments.ensure(directory.name))), "-c", code]
    env = {**os.environ, "PYTHONPATH": str(directory)}
    times = [
        float(subprocess.check_output(command, cwd=directory, env=env, text=True))
        for _ in range(runs)
    ]
    return statistics.median(times)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process and its children (gunicorn arbiter + worker)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        status = Path(f"/proc/{each}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total / 1024


def sequential_job(panels: int) -> float:
    """The seeds' design: one process, plan, then each panel's image then audio in turn."""
    from panelflow.adapters.simulated import (
        SimulatedImageGenerator,
        SimulatedSpeechSynthesizer,
        SimulatedStoryPlanner,
    )
    from panelflow.domain.models import SpeechLine

    planner, images, voice = (
        SimulatedStoryPlanner(),
        SimulatedImageGenerator(),
        SimulatedSpeechSynthesizer(),
    )
    started = time.perf_counter()
    plan = planner.plan(story(panels), panels=panels, style="storybook", language="en")
    for panel in plan.panels:
        images.panel(PanelRequest(panel, "storybook", plan.characters, {}))
        voice.synthesize([SpeechLine(text=panel.narration)], language="en")
    return time.perf_counter() - started


class CountingApi:
    """The Firestore client's gRPC API, counting each call (one round trip) by method."""

    def __init__(self, api: Any, counts: dict[str, int]) -> None:
        self._api = api
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._api, name)
        if name.startswith("_") or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counts[name] += 1
            return attribute(*args, **kwargs)

        return call


def count_writes(env: dict[str, str], panels: int) -> dict[str, float]:
    """Runs one job's services in-process on the emulator and counts every document write.

    Writes are counted through the Firestore client the store is given (its public
    ``batch()``: every write of the store, single updates included, goes through a batch);
    deliveries happen in-process through the recording queue of tests/fakes, so only
    Firestore is measured.
    """
    from google.cloud import firestore

    from fakes.stores import RecordingQueue
    from panelflow.adapters.firestore_store import FirestoreJobStore
    from panelflow.adapters.simulated import (
        SimulatedImageGenerator,
        SimulatedSpeechSynthesizer,
        SimulatedStoryPlanner,
        SimulationConfig,
    )
    from panelflow.bootstrap import Services
    from panelflow.domain.models import JobRequest
    from panelflow.services.jobs import start_job
    from panelflow.services.planning import plan_job
    from panelflow.services.rendering import render_panel
    from panelflow.settings import Settings

    writes: dict[str, int] = defaultdict(int)

    def record(reference: Any) -> None:
        path = reference.path
        parts = path.split("/")
        if "panels" in parts:
            kind = "panel"
        elif "costs" in parts:
            kind = "cost"  # the cost ledger: one document per paid call, never the job's
        else:
            kind = "job" if parts[0] == "jobs" and len(parts) == 2 else "other"
        writes[kind] += 1

    def counted(name: str) -> Callable[..., Any]:
        def write(batch: Any, reference: Any, *args: Any, **kwargs: Any) -> Any:
            record(reference)
            return getattr(firestore.WriteBatch, name)(batch, reference, *args, **kwargs)

        return write

    # Every kind of write a batch makes passes through record() first.
    CountingBatch = type(
        "CountingBatch",
        (firestore.WriteBatch,),
        {name: counted(name) for name in ("create", "set", "update", "delete")},
    )

    # Every Firestore round trip (one gRPC call) by method, and how many the panels made.
    rpcs: dict[str, int] = defaultdict(int)

    class CountingClient(firestore.Client):
        def batch(self) -> firestore.WriteBatch:
            return CountingBatch(self)

        @property
        def _firestore_api(self) -> Any:
            return CountingApi(super()._firestore_api, rpcs)

    settings = Settings.from_env(
        {**env, "PANELFLOW_PROVIDERS": "simulated", "PANELFLOW_MAX_ACTIVE_JOBS": "0"}
    )
    instant = SimulationConfig(
        {"PANELFLOW_SIM_PLAN_S": "0", "PANELFLOW_SIM_IMAGE_S": "0", "PANELFLOW_SIM_SPEECH_S": "0"}
    )
    queue = RecordingQueue()
    services = Services(
        settings,
        store=FirestoreJobStore(
            settings.project_id, client=CountingClient(project=settings.project_id)
        ),
        queue=queue,
        planner=SimulatedStoryPlanner(instant),
        images=SimulatedImageGenerator(instant),
        voice=SimulatedSpeechSynthesizer(instant),
    )
    request = JobRequest(story=story(panels), style="storybook", panels=panels, language="en")
    job = start_job(services, "bench-writes", request)
    plan_job(services, job.job_id)
    before = dict(rpcs)
    for (job_id, index), planned in zip(queue.panels, queue.versions, strict=True):
        render_panel(services, job_id, index, planned)
    panel_rpcs = {name: count - before.get(name, 0) for name, count in rpcs.items()}
    final = services.store.get_job(job.job_id)
    assert final is not None and final.status.value == "completed", final
    return {
        # Round trips the panel step makes (claim to final move), per panel and by method.
        "firestore_calls_per_panel": round(sum(panel_rpcs.values()) / panels, 2),
        "firestore_calls_by_method": {k: v for k, v in sorted(panel_rpcs.items()) if v},
        "firestore_writes_per_panel": round((writes["panel"] + writes["job"]) / panels, 2),
        "panel_doc_writes_per_panel": round(writes["panel"] / panels, 2),
        "job_doc_writes_per_job": writes["job"],
    }


def start_baseline(stack: LocalStack) -> tuple[subprocess.Popen[bytes], str]:
    from google.cloud import pubsub_v1

    topic = "bench-baseline"
    publisher = pubsub_v1.PublisherClient()
    publisher.create_topic(name=publisher.topic_path(stack.env["GOOGLE_CLOUD_PROJECT"], topic))
    port = free_port()
    env = {**os.environ, **stack.env, "BASELINE_TOPIC": topic, "THREADS": "64", "WORKERS": "1"}
    framework = Path(sys.executable).with_name("functions-framework")
    process = subprocess.Popen(
        [
            str(framework),
            "--target=start",
            f"--source={ROOT / 'benchmarks/baseline/main.py'}",
            f"--host={HOST}",
            f"--port={port}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://{HOST}:{port}"
    for _ in range(200):
        try:
            requests.get(url, timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.05)
    return process, url


def measure_starts(ours: Any, theirs: Any, count: int) -> tuple[list[float], list[float]]:
    """Interleaved, so a noisy moment on the machine falls on both sides alike."""
    for post in (ours, theirs, ours, theirs):
        post()  # warm each instance's clients, as a warm function would be
    pairs = [(ours() * 1000, theirs() * 1000) for _ in range(count)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def warm_up(client: Session, db: Any, jobs: int, panels: int = 12) -> None:
    """Unmeasured jobs first: the emulators are Java, and a JVM compiles its hot paths only
    after a few thousand calls, so the first jobs measure the emulator warming, not us
    (production's services are warm). ``make timeline`` warms the same way."""
    for _ in range(jobs):
        job_id, _ = client.start(panels)
        JobWatcher(db, job_id).wait(120)


def watched_jobs(client: Session, db: Any, args: argparse.Namespace) -> dict[str, Any]:
    """12-panel jobs and the panel sweep, each watched by a listener as a client would."""
    results: dict[str, Any] = {}
    plan_s, image_s, speech_s = args.plan_s, args.image_s, args.speech_s
    # A 12-panel job, watched as a client would.
    ideal = plan_s + max(image_s, speech_s)
    runs = []
    reading: list[float] = []
    # Listener lag, ours and raw, interleaved: after each watched job, one raw burst of
    # 12 on the same emulator, so both sides see the same moments of a busy machine.
    lags: list[float] = []
    raw: list[float] = []
    warm_up(client, db, args.warm)
    for _ in range(args.repeat):
        started = time.perf_counter()
        job_id, _ = client.start(12)
        watcher = JobWatcher(db, job_id)
        watcher.wait(120)
        runs.append((watcher.finished_at - started, watcher.first_panel_at - started, watcher))
        reading.append(watcher.reading_start_at - started)
        lags += watcher.lags_ms
        raw += raw_listener_lag(db, rounds=1)
    runs.sort(key=lambda run: run[0])
    job12, ttfp, watcher = runs[len(runs) // 2]
    results["job_s_by_panels"] = panel_sweep(client, db, args, lags, raw)
    # A reader starts at panel 1: at best it is done after the plan and one image.
    reading_ideal = plan_s + image_s
    results.update(
        ideal_s=round(ideal, 3),
        job12_s=round(job12, 3),
        job12_runs_s=[round(run[0], 3) for run in runs],
        efficiency_ratio=round(job12 / ideal, 3),
        ttfp_s=round(ttfp, 3),
        ttfp_reading_order_s=round(statistics.median(reading), 3),
        ttfp_reading_order_runs_s=[round(r, 3) for r in reading],
        ttfp_reading_order_ideal_s=round(reading_ideal, 3),
        ttfp_reading_order_ratio=round(statistics.median(reading) / reading_ideal, 3),
    )
    results.update(
        listener_samples=[len(lags), len(raw)],
        listener_lag_p50_ms=round(percentile(lags, 50), 1),
        listener_lag_p99_ms=round(percentile(lags, 99), 1),
        listener_raw_p50_ms=round(percentile(raw, 50), 1),
        listener_raw_p99_ms=round(percentile(raw, 99), 1),
    )
    results["listener_overhead_ratio"] = round(
        results["listener_lag_p99_ms"] / max(results["listener_raw_p99_ms"], 0.1), 2
    )
    return results


def bench_stack(args: argparse.Namespace) -> LocalStack:
    """The local stack the benchmark measures (also ``make timeline``'s): sleeping
    providers, no per-user quotas, ``args.concurrency`` panels in flight."""
    return LocalStack(
        StackOptions(
            state_dir=STATE,
            panel_concurrency=args.concurrency,
            plan_concurrency=args.plan_concurrency,
            web=False,
            function_env={
                "PANELFLOW_PROVIDERS": "simulated",
                "PANELFLOW_SIM_PLAN_S": str(args.plan_s),
                "PANELFLOW_SIM_IMAGE_S": str(args.image_s),
                "PANELFLOW_SIM_SPEECH_S": str(args.speech_s),
                "PANELFLOW_MAX_PANELS": "24",
                # One user starts every job here: the per-user quotas would refuse most of them.
                "PANELFLOW_MAX_ACTIVE_JOBS": "0",
                "PANELFLOW_MAX_PANELS_PER_DAY": "0",
                # What each simulated call slept: the realistic scenario's ideal comes from it.
                "PANELFLOW_SIM_CALL_LOG": str(CALL_LOG),
            },
        )
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from google.cloud import firestore

    results: dict[str, Any] = {}
    state = STATE
    stack = bench_stack(args)
    t0 = time.perf_counter()
    stack.start()
    log(f"stack up in {time.perf_counter() - t0:.1f} s (panel concurrency {args.concurrency})")
    # google-cloud clients find the emulators through the environment only: set for this
    # run, restored when it ends.
    environment = mock.patch.dict(os.environ, stack.env)
    environment.start()
    db = firestore.Client(project=stack.env["GOOGLE_CLOUD_PROJECT"])
    api = stack.env["PANELFLOW_API_URL"]
    try:
        for name in ("orchestrator", "panel_worker"):
            results[f"import_{name}_s"] = round(import_time(state / "build" / name), 3)
        results["worker_import_s"] = max(
            results["import_orchestrator_s"], results["import_panel_worker_s"]
        )

        # One 8-panel job: the worker's peak memory with 8 panels in flight.
        client = Session(api, "bench-single")
        job_id, _ = client.start(8)
        JobWatcher(db, job_id).wait(120)
        results["worker_peak_rss_mb"] = round(peak_rss_mb(stack.processes["worker"].pid), 1)

        results.update(watched_jobs(client, db, args))

        results.update(start_latency(stack, db, api, args.starts))
        results.update(scaling(client, api, db, args))
        results.update(count_writes(stack.env, 12))
        if args.realistic_jobs:
            results.update(realistic(api, db, args))
        results.update(worker_cpu(stack, state))
        results.update(cold_starts(stack, state, args.cold_runs))
    finally:
        stack.stop()
        environment.stop()
    sequential = sequential_job(12)
    results["sequential12_s"] = round(sequential, 3)
    results["speedup_vs_sequential"] = round(sequential / results["job12_s"], 2)
    return results


# ---- the real-world scenario ---------------------------------------------------------------


def realistic_draws(jobs: int, panels: int, seed: int) -> list[dict[str, Any]]:
    """Seeded lognormal latencies for each job: plan, one character sheet, and each panel's
    image and speech (``random.lognormvariate(ln(median), sigma)``)."""
    rng = random.Random(seed)

    def draw(kind: str) -> float:
        median, sigma = REALISTIC[kind]
        return round(rng.lognormvariate(math.log(median), sigma), 3)

    return [
        {
            "job": f"r{seed}-{n}",
            "plan": draw("plan"),
            "sheet": draw("image"),  # a reference sheet is one image call
            "image": [draw("image") for _ in range(panels)],
            "speech": [draw("speech") for _ in range(panels)],
        }
        for n in range(jobs)
    ]


def realistic_story(draw: dict[str, Any], panels: int) -> str:
    values = " ".join(
        f"{key}={','.join(str(v) for v in value) if isinstance(value, list) else value}"
        for key, value in draw.items()
    )
    return f"[sim {values}] {story(panels)}"


def slept_ideals(log: Path) -> dict[str, float]:
    """Each realistic job's ideal from what its simulated calls actually slept (the call
    log): plan + the slowest sheet (drawn at once) + the slowest panel, whose image and
    speech run at once."""
    plan: dict[str, float] = {}
    sheets: dict[str, list[float]] = defaultdict(list)
    # The slowest panel is the slowest of its image and speech calls: so, per job, the
    # slowest image or speech call of all its panels.
    calls: dict[str, list[float]] = defaultdict(list)
    if not log.exists():
        return {}
    for line in log.read_text().splitlines():
        call = json.loads(line)
        sim, seconds = call.get("sim"), call.get("seconds")
        if not sim or seconds is None or call.get("phase", "paid") != "paid":
            continue
        job = sim.get("job", "")
        if call["kind"] == "plan":
            plan[job] = seconds
        elif call["kind"] == "sheet":
            sheets[job].append(seconds)
        elif call["kind"] in ("image", "speech"):
            calls[job].append(seconds)
    return {
        job: planned + max(sheets[job], default=0.0) + max(calls[job], default=0.0)
        for job, planned in plan.items()
    }


def drawn_ideal(draw: dict[str, Any]) -> float:
    slowest = max(max(i, s) for i, s in zip(draw["image"], draw["speech"], strict=True))
    return float(draw["plan"] + draw["sheet"] + slowest)


def realistic(api: str, db: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Jobs with lognormal provider latencies, started ``realistic_gap_s`` apart (so the
    panels in flight stay under the stack's panel concurrency); each job's time against
    its own ideal for the same draws."""
    draws = realistic_draws(args.realistic_jobs, args.panels_per_job, REALISTIC_SEED)
    session = Session(api, "bench-realistic")
    watchers: dict[str, tuple[JobWatcher, float]] = {}
    for n, draw in enumerate(draws):
        if n:
            time.sleep(args.realistic_gap_s)
        started = time.perf_counter()
        response = session.create(
            {"story": realistic_story(draw, args.panels_per_job), "panels": args.panels_per_job}
        )
        watchers[draw["job"]] = (JobWatcher(db, response.json()["jobId"]), started)
    actual: dict[str, float] = {}
    for job, (watcher, started) in watchers.items():
        watcher.wait(300)
        assert watcher.status == "completed", (job, watcher.status)
        assert watcher.finished_at is not None
        actual[job] = watcher.finished_at - started
    slept = slept_ideals(CALL_LOG)
    jobs = []
    for draw in draws:
        ideal = slept.get(draw["job"], drawn_ideal(draw))
        jobs.append((round(ideal, 3), round(actual[draw["job"]], 3)))
    ideals, times = [i for i, _ in jobs], [a for _, a in jobs]
    ratios = [a / i for i, a in jobs]
    log(f"realistic: {len(jobs)} jobs, p95 {percentile(times, 95):.2f} s")
    return {
        "realistic_jobs": len(jobs),
        "realistic_p50_s": round(percentile(times, 50), 3),
        "realistic_p95_s": round(percentile(times, 95), 3),
        "realistic_ideal_p50_s": round(percentile(ideals, 50), 3),
        "realistic_ideal_p95_s": round(percentile(ideals, 95), 3),
        "realistic_ratio_p50": round(percentile(times, 50) / percentile(ideals, 50), 3),
        "realistic_ratio_p95": round(percentile(times, 95) / percentile(ideals, 95), 3),
        "realistic_job_ratio_p95": round(percentile(ratios, 95), 3),
        "realistic_ideals_from_log": len(slept) >= len(jobs),
        "realistic_by_job": jobs,
    }


# ---- cost per panel and cold starts ---------------------------------------------------------


def worker_cpu(stack: LocalStack, state: Path) -> dict[str, Any]:
    """CPU seconds per panel with the offline providers, in the worker's own environment
    (benchmarks/cpu_probe.py): drawing, voice, encoding and the store and upload work."""
    build = state / "build" / "panel_worker"
    env = stack.function_env("worker")
    env = {k: v for k, v in env.items() if not k.startswith("PANELFLOW_SIM_")}
    env.update(
        PANELFLOW_PROVIDERS="offline",
        PANELFLOW_PLANNER="offline",
        PANELFLOW_IMAGES="offline",
        PANELFLOW_VOICE="offline",
        PYTHONPATH=str(build),
    )
    python = environments.python(environments.ensure("panel_worker"))
    output = subprocess.check_output(
        [str(python), str(ROOT / "benchmarks" / "cpu_probe.py"), "8"],
        cwd=build,
        env=env,
        text=True,
        timeout=300,
    )
    probe = json.loads(output.strip().splitlines()[-1])
    return {
        "worker_cpu_s_per_panel": probe["worker_cpu_s_per_panel"],
        "worker_cpu_wall_s_per_panel": round(probe["wall_s"] / probe["panels"], 3),
    }


def _cloud_event(job_id: str) -> tuple[dict[str, str], bytes]:
    """A Pub/Sub CloudEvent (binary mode) for a job that does not exist: served and
    acknowledged without touching a provider."""
    data = base64.b64encode(json.dumps({"jobId": job_id, "panelIndex": 0}).encode()).decode()
    body = json.dumps({"message": {"data": data, "messageId": "cold-1"}, "subscription": "s"})
    headers = {
        "ce-id": uuid.uuid4().hex,
        "ce-source": "//pubsub.googleapis.com/projects/demo/topics/cold",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-specversion": "1.0",
        "Content-Type": "application/json",
    }
    return headers, body.encode()


def cold_start(stack: LocalStack, state: Path, key: str) -> float:
    """Seconds from spawning function ``key`` in its own environment (as the stack does)
    until its first request is served: an HTTP GET for the API, a POST for the others
    (a CloudEvent for the event functions)."""
    from panelflow_cli import function_guard

    function = stack.pipeline.functions[key]
    source = state / "build" / function.bundle
    python = environments.functions_framework(environments.ensure(function.bundle))
    port = free_port()
    command = [
        str(python.with_name("python")),
        str(Path(function_guard.__file__)),
        f"--target={function.entry_point}",
        f"--source={source / 'main.py'}",
        f"--signature-type={function.signature}",
        f"--host={HOST}",
        f"--port={port}",
    ]
    env = {**stack.function_env(key), "PYTHONPATH": str(source)}
    headers: dict[str, str] = {}
    if function.http != "public":
        env[function_guard.SECRET_VARIABLE] = "cold-start"
        headers[function_guard.CALLER_HEADER] = "cold-start"
    url = f"http://{HOST}:{port}/"
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - started < 60:
            try:
                if function.http == "public":
                    response = requests.get(f"{url}healthz", timeout=10)
                elif function.signature == "cloudevent":
                    extra, body = _cloud_event(f"cold-{uuid.uuid4().hex}")
                    response = requests.post(url, data=body, headers=headers | extra, timeout=10)
                else:
                    response = requests.post(url, headers=headers, timeout=30)
            except requests.ConnectionError:
                time.sleep(0.01)
                continue
            if response.status_code >= 300:
                raise RuntimeError(f"{key}: first request got {response.status_code}")
            return time.perf_counter() - started
        raise TimeoutError(f"{key} did not serve within 60 s")
    finally:
        process.terminate()
        process.wait(timeout=10)


def cold_starts(stack: LocalStack, state: Path, runs: int) -> dict[str, Any]:
    """Median of ``runs`` cold starts of every function of functions/pipeline.yaml."""
    timings = {
        key: round(statistics.median(cold_start(stack, state, key) for _ in range(runs)), 3)
        for key in stack.pipeline.functions
    }
    return {"cold_start_s": timings, "cold_start_s_max": max(timings.values())}


def start_latency(stack: LocalStack, db: Any, api: str, starts: int) -> dict[str, Any]:
    """Start latency against the bare baseline, same emulators, same server settings."""
    baseline, baseline_url = start_baseline(stack)
    try:
        http = requests.Session()

        def post_baseline() -> float:
            started = time.perf_counter()
            http.post(f"{baseline_url}/", json={"story": story(1)}).raise_for_status()
            return time.perf_counter() - started

        starter = Session(api, "bench-start", keyed=False)
        ours, theirs = measure_starts(lambda: starter.start(1)[1], post_baseline, starts)
    finally:
        baseline.kill()
    results: dict[str, Any] = dict(
        start_p50_ms=round(percentile(ours, 50), 2),
        start_p99_ms=round(percentile(ours, 99), 2),
        start_baseline_p50_ms=round(percentile(theirs, 50), 2),
        start_baseline_p99_ms=round(percentile(theirs, 99), 2),
    )
    results["start_overhead_ratio"] = round(
        results["start_p99_ms"] / results["start_baseline_p99_ms"], 2
    )
    wait_for_owner(db, "bench-start", starts + 2, timeout=300)
    return results


def panel_sweep(
    client: Session, db: Any, args: argparse.Namespace, lags: list[float], raw: list[float]
) -> dict[str, float]:
    """How the time of one job grows with its panels; each job's listener lag goes into
    ``lags``, with one raw burst of as many documents after it into ``raw``."""
    growth = {}
    for panels in args.panel_sweep:
        started = time.perf_counter()
        job_id, _ = client.start(panels)
        sweep = JobWatcher(db, job_id)
        sweep.wait(300)
        growth[str(panels)] = round(sweep.finished_at - started, 3)
        lags += sweep.lags_ms
        raw += raw_listener_lag(db, rounds=1, burst=panels)  # a burst the job's size
    return growth


def scaling(client: Session, api: str, db: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Throughput with many jobs at once."""
    results: dict[str, Any] = {}

    # Many jobs at once.
    scale = {}
    for jobs in args.jobs_sweep:
        scale[str(jobs)] = concurrent_jobs(api, db, jobs, args.panels_per_job)
        log(f"{jobs} jobs x {args.panels_per_job} panels: {scale[str(jobs)]}")
    top = scale[str(max(args.jobs_sweep))]
    results.update(
        jobs_concurrent=top["jobs"],
        panels_total=top["panels_total"],
        panels_lost=top["panels_lost"],
        throughput_panels_per_s=top["throughput_panels_per_s"],
        concurrent_wall_s=top["wall_s"],
        job_doc_writes_per_s_max=top["job_doc_writes_per_s_max"],
        throughput_by_jobs={k: v["throughput_panels_per_s"] for k, v in scale.items()},
        ceiling_panels_per_s=round(args.concurrency / max(args.image_s, args.speech_s), 1),
    )
    return results


def wait_for_owner(db: Any, uid: str, count: int, timeout: float) -> None:
    """Waits until ``count`` of the owner's jobs are terminal, so phases do not overlap."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    deadline = time.monotonic() + timeout
    query = db.collection("jobs").where(filter=FieldFilter("ownerUid", "==", uid))
    while time.monotonic() < deadline:
        statuses = [doc.get("status") for doc in query.select(["status"]).get()]
        if len(statuses) >= count and all(s in TERMINAL for s in statuses):
            return
        time.sleep(0.5)
    raise TimeoutError(f"{uid}'s jobs did not finish within {timeout} s")


def concurrent_jobs(api: str, db: Any, jobs: int, panels: int) -> dict[str, Any]:
    """Starts ``jobs`` jobs of ``panels`` panels at once; every one must reach a terminal state."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    uid = f"bench-many-{uuid.uuid4().hex[:6]}"
    session = Session(api, uid)
    finished: dict[str, tuple[str, float]] = {}
    job_writes: dict[str, list[float]] = defaultdict(list)
    all_done = threading.Event()
    started_ids: set[str] = set()

    def on_jobs(_snapshots: list[Any], changes: list[Any], _read: Any) -> None:
        now = time.perf_counter()
        for change in changes:
            data = change.document.to_dict() or {}
            job_writes[change.document.id].append(change.document.update_time.timestamp())
            if data.get("status") in TERMINAL and change.document.id not in finished:
                finished[change.document.id] = (data["status"], now)
        if len(finished) >= jobs:
            all_done.set()

    query = db.collection("jobs").where(filter=FieldFilter("ownerUid", "==", uid))
    watch = query.on_snapshot(on_jobs)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for job_id, _ in pool.map(lambda _: session.start(panels), range(jobs)):
            started_ids.add(job_id)
    all_done.wait(timeout=max(120, jobs * panels * 0.5))
    watch.unsubscribe()
    wall = (max(t for _, t in finished.values()) - started) if finished else float("nan")
    done_panels = 0
    for job_id in started_ids:
        snapshot = db.collection("jobs").document(job_id).get()
        done_panels += int(snapshot.get("panelsDone") or 0) if snapshot.exists else 0
    per_second = []
    for times in job_writes.values():
        times.sort()
        # Most writes to one job document within any one-second window.
        per_second.append(max(sum(1 for t in times if start <= t < start + 1) for start in times))
    return {
        "jobs": jobs,
        "panels_total": jobs * panels,
        "panels_done": done_panels,
        "panels_lost": jobs * panels - done_panels,
        "jobs_terminal": len(finished),
        "wall_s": round(wall, 2),
        "throughput_panels_per_s": round(done_panels / wall, 2) if not math.isnan(wall) else 0.0,
        "job_doc_writes_per_s_max": max(per_second) if per_second else 0,
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def verdicts(results: dict[str, Any]) -> dict[str, bool]:
    checks = {}
    for key, (op, target) in TARGETS.items():
        value = results.get(key)
        if value is None:
            continue
        checks[key] = {"<=": value <= target, ">=": value >= target, "==": value == target}[op]
    return checks


def table(results: dict[str, Any], checks: dict[str, bool]) -> str:
    lines = [f"{'figure':<32} {'value':>14}  target"]
    for key, value in results.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        target = ""
        if key in TARGETS:
            op, goal = TARGETS[key]
            target = f"{op} {goal}  {'met' if checks.get(key) else 'NOT met'}"
        lines.append(f"{key:<32} {value!s:>14}  {target}")
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options (``make timeline`` reads the same defaults)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plan-s", type=float, default=float(os.environ.get("BENCH_PLAN_S", 1.0)))
    parser.add_argument(
        "--image-s", type=float, default=float(os.environ.get("BENCH_IMAGE_S", 2.0))
    )
    parser.add_argument(
        "--speech-s", type=float, default=float(os.environ.get("BENCH_SPEECH_S", 0.5))
    )
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("BENCH_JOBS", 200)))
    parser.add_argument("--panels-per-job", type=int, default=8)
    parser.add_argument("--starts", type=int, default=int(os.environ.get("BENCH_STARTS", 200)))
    parser.add_argument("--repeat", type=int, default=5, help="12-panel runs (median reported)")
    parser.add_argument(
        "--warm", type=int, default=2, help="unmeasured 12-panel jobs before the measured ones"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="panels in flight on the stack")
    parser.add_argument("--plan-concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--realistic-jobs",
        type=int,
        default=int(os.environ.get("BENCH_REALISTIC_JOBS", 30)),
        help="jobs of the real-world scenario (0: skip it)",
    )
    parser.add_argument(
        "--realistic-gap-s", type=float, default=2.0, help="seconds between its job starts"
    )
    parser.add_argument("--cold-runs", type=int, default=3, help="cold starts per function")
    args = parser.parse_args(argv)
    args.panel_sweep = [1, 4, 8, 16, 24]
    args.jobs_sweep = sorted({j for j in (10, 50, args.jobs) if j <= args.jobs})
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    started = time.perf_counter()
    results = run(args)
    results["bench_wall_s"] = round(time.perf_counter() - started, 1)
    results["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    checks = verdicts(results)
    results["targets_met"] = checks
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    # Every run is kept (benchmarks/report.py tabulates the last few); latest.json is a copy.
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (args.out / f"run-{stamp}.json").write_text(json.dumps(results, indent=2))
    (args.out / "latest.json").write_text(json.dumps(results, indent=2))
    try:
        from plot import plot_results

        plot_results(results, args.out / "scaling.png")
    except Exception as error:  # the figures matter more than the picture
        log(f"plot skipped: {error}")
    print(table(results, checks))
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
