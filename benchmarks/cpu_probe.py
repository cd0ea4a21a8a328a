"""CPU cost of one panel with the offline providers, run inside the worker's own environment.

``bench.py`` starts this with the panel_worker bundle's interpreter, the staged bundle on
``PYTHONPATH`` and the worker's environment from the local stack (emulators, bucket), with
``PANELFLOW_PROVIDERS=offline``. It plans a job in-process, then renders its panels one
after another through ``render_panel`` — claim, drawing, voice, encoding, upload, record —
and measures the CPU time of this process and its children (user + system) over the
renders only. A one-panel job first warms the imports, fonts and clients, as a warm
instance would be. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Sequence

from panelflow.bootstrap import Services
from panelflow.domain.models import JobRequest
from panelflow.services.jobs import start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.settings import Settings

STORY = (
    "Mira finds a map in her grandmother's attic. She follows it to the harbour at dusk. "
    "An old sailor named Tom waves at her. 'You found it,' he says. They row out to the "
    "lighthouse. The lamp is dark. Mira climbs the stairs. She lights the lamp, and the "
    "bay shines gold. Tom cheers from the boat. The map glows one last time and fades."
)


class ListQueue:
    """Keeps the messages, so the panels are rendered here, in turn."""

    def __init__(self) -> None:
        self.panels: list[tuple[str, int]] = []

    def publish_plan(self, job_id: str) -> None:
        pass

    def publish_panels(
        self, job_id: str, indexes: Sequence[int], planned: str | None = None
    ) -> None:
        self.panels += [(job_id, index) for index in indexes]


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_job(services: Services, queue: ListQueue, panels: int) -> tuple[int, float, float]:
    request = JobRequest(story=STORY, style="storybook", panels=panels, language="en")
    job = start_job(services, "bench-cpu", request)
    queue.panels.clear()
    plan_job(services, job.job_id)
    todo = list(queue.panels)
    cpu, wall = cpu_seconds(), time.perf_counter()
    for job_id, index in todo:
        render_panel(services, job_id, index)
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    final = services.store.get_job(job.job_id)
    assert final is not None and final.status.value == "completed", final
    return len(todo), cpu, wall


def main() -> int:
    panels = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    queue = ListQueue()
    services = Services(Settings.from_env(os.environ), queue=queue)  # type: ignore[arg-type]
    run_job(services, queue, 1)  # warm: imports, fonts, clients
    count, cpu, wall = run_job(services, queue, panels)
    print(
        json.dumps(
            {
                "panels": count,
                "cpu_s": round(cpu, 3),
                "wall_s": round(wall, 3),
                "worker_cpu_s_per_panel": round(cpu / count, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
