"""Helpers for tests that drive a running local stack over HTTP and Firestore listeners."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from panelflow.domain.models import TERMINAL_STATES
from panelflow_cli.identity import emulator_token

TERMINAL = TERMINAL_STATES
_tokens: dict[tuple[str, str, str], str] = {}


def id_token(uid: str) -> str:
    """An ID token for ``uid`` from the Auth emulator of the stack in the environment.

    The user is created with that uid on first use; tokens are cached (they live an hour).
    """
    key = (os.environ["FIREBASE_AUTH_EMULATOR_HOST"], os.environ["GOOGLE_CLOUD_PROJECT"], uid)
    if key not in _tokens:
        _tokens[key] = emulator_token(uid)
    return _tokens[key]


def headers(uid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid)}"}


def start_job(api_url: str, uid: str, story: str, **options: Any) -> str:
    response = requests.post(
        f"{api_url}/jobs", json={"story": story, **options}, headers=headers(uid), timeout=10
    )
    assert response.status_code == 202, response.text
    return str(response.json()["jobId"])


@dataclass
class Timeline:
    """What a client listening to the job and its panels saw, in order."""

    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    job: dict[str, Any] = field(default_factory=dict)
    panels: dict[int, dict[str, Any]] = field(default_factory=dict)

    def panel_progress_before_terminal(self) -> list[int]:
        """Counts of finished panels seen while the job was not yet terminal."""
        seen = []
        for _, kind, data in self.events:
            if kind == "job" and data.get("status") in TERMINAL:
                break
            if kind == "panels":
                seen.append(data["finished"])
        return seen


def watch(project: str, job_id: str, timeout: float = 120.0) -> Timeline:
    from google.cloud import firestore

    client = firestore.Client(project=project)
    ref = client.collection("jobs").document(job_id)
    timeline = Timeline()
    lock = threading.Lock()

    def on_job(snapshots, _changes, _read_time):
        with lock:
            for snapshot in snapshots:
                if snapshot.exists:
                    timeline.job = snapshot.to_dict()
                    timeline.events.append((time.monotonic(), "job", dict(timeline.job)))
                    if timeline.job.get("status") in TERMINAL:
                        timeline.done.set()

    def on_panels(_snapshots, changes, _read_time):
        with lock:
            for change in changes:
                data = change.document.to_dict()
                timeline.panels[int(data["index"])] = data
            finished = sum(
                1 for p in timeline.panels.values() if p.get("status") in ("done", "failed")
            )
            timeline.events.append((time.monotonic(), "panels", {"finished": finished}))

    watches = [ref.on_snapshot(on_job), ref.collection("panels").on_snapshot(on_panels)]
    timeline.watches = watches  # type: ignore[attr-defined]
    timeline.timeout = timeout  # type: ignore[attr-defined]
    return timeline


def wait(timeline: Timeline) -> Timeline:
    assert timeline.done.wait(timeline.timeout), f"job not terminal: {timeline.job}"  # type: ignore[attr-defined]
    time.sleep(0.3)  # let the last panel snapshots arrive
    for handle in timeline.watches:  # type: ignore[attr-defined]
        handle.unsubscribe()
    return timeline


def max_in_flight(panels: list[dict[str, Any]]) -> int:
    """The most panels whose [startedAt, finishedAt] intervals overlap at one moment."""
    edges = []
    for panel in panels:
        if panel.get("startedAt") and panel.get("finishedAt"):
            edges.append((float(panel["startedAt"]), 1))
            edges.append((float(panel["finishedAt"]), -1))
    running = best = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        running += step
        best = max(best, running)
    return best
