"""Live progress from Firestore listeners on a job and its panels."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from panelflow.domain.models import TERMINAL_STATES

TERMINAL = TERMINAL_STATES
# The states only a job's final move reaches, with the counts it writes.
COUNTED = ("completed", "partial")


@dataclass
class Progress:
    job: dict[str, Any] = field(default_factory=dict)
    panels: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.job.get("status", "unknown"))

    @property
    def total(self) -> int:
        return int(self.job.get("panelCount") or self.job.get("panelsRequested") or 0)

    def count(self, status: str) -> int:
        """Panels in ``status``. Once the job is completed or partial, its own counts are the
        answer (only the final move, which writes them, gets it there): the job and its
        last panels change in one commit, but the job's listener and the panels' listener
        may report that commit in either order."""
        if self.status in COUNTED and status in ("done", "failed", "rendering"):
            key = {"done": "panelsDone", "failed": "panelsFailed"}.get(status)
            if key is None:
                return 0
            if isinstance(self.job.get(key), int):
                return int(self.job[key])
        return sum(1 for panel in self.panels.values() if panel.get("status") == status)


def follow_job(
    project_id: str,
    job_id: str,
    on_change: Callable[[Progress], None],
    timeout: float = 600.0,
) -> Progress:
    """Listens until the job reaches a terminal state (or ``timeout``); returns the last view."""
    from google.cloud import firestore

    client = firestore.Client(project=project_id)
    job_ref = client.collection("jobs").document(job_id)
    progress = Progress()
    lock = threading.Lock()
    finished = threading.Event()

    def on_job(snapshots: list[Any], _changes: Any, _read_time: Any) -> None:
        with lock:
            for snapshot in snapshots:
                if snapshot.exists:
                    progress.job = snapshot.to_dict() or {}
            on_change(progress)
            if progress.status in TERMINAL:
                finished.set()

    def on_panels(_snapshots: list[Any], changes: list[Any], _read_time: Any) -> None:
        with lock:
            for change in changes:
                data = change.document.to_dict() or {}
                if change.type.name == "REMOVED":
                    progress.panels.pop(int(data.get("index", -1)), None)
                else:
                    progress.panels[int(data["index"])] = data
            on_change(progress)

    watches = [
        job_ref.on_snapshot(on_job),
        job_ref.collection("panels").on_snapshot(on_panels),
    ]
    try:
        finished.wait(timeout)
    finally:
        for watch in watches:
            watch.unsubscribe()
    return progress


class ProgressBar:
    """Draws one line on a terminal (redrawn in place) or a line per change elsewhere."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self.tty = stream.isatty()
        self._last = ""

    def __call__(self, progress: Progress) -> None:
        total = progress.total
        done, failed = progress.count("done"), progress.count("failed")
        rendering = progress.count("rendering")
        filled = int(self.width * (done + failed) / total) if total else 0
        bar = "#" * filled + "-" * (self.width - filled)
        line = (
            f"[{bar}] {done + failed}/{total or '?'} panels"
            f" ({rendering} rendering, {failed} failed)  {progress.status}"
        )
        if line == self._last:
            return
        self._last = line
        elapsed = time.monotonic() - self.started
        if self.tty:
            self.stream.write(f"\r{line}  {elapsed:5.1f}s\033[K")
            if progress.status in TERMINAL:
                self.stream.write("\n")
        else:
            self.stream.write(f"{elapsed:6.2f}s {line}\n")
        self.stream.flush()
