"""Messages that exhausted their retries: fail what they were for, so nothing waits forever."""

from __future__ import annotations

import time

from panelflow import logs
from panelflow.domain.leases import lease_is_live
from panelflow.domain.models import JobStatus
from panelflow.ports import FinishingDependencies
from panelflow.services.rendering import finish_job_if_done


def handle_dead_letter(
    services: FinishingDependencies, job_id: str, panel_index: int | None
) -> None:
    """Marks the panel (or, for a plan message, the job) failed with a readable reason."""
    store = services.store
    if panel_index is None:
        store.transition_job(
            job_id,
            [JobStatus.QUEUED, JobStatus.PLANNING],
            JobStatus.FAILED,
            error={
                "code": "planning_retries_exhausted",
                "message": "planning kept failing; start the job again later",
            },
        )
        logs.error("plan message dead-lettered", jobId=job_id)
        return
    panel = store.get_panel(job_id, panel_index)
    if panel is None or panel.status.finished:
        return
    if lease_is_live(panel, time.time()):
        # A worker is still on it (redeliveries found its lease held): the sweeper re-queues
        # the panel if that worker never finishes, within the attempts budget.
        logs.warning(
            "dead letter for a panel still being drawn", jobId=job_id, panelIndex=panel_index
        )
        return
    reason = {
        "code": "retries_exhausted",
        "message": "this panel kept failing and was given up; retry it later",
    }
    if store.fail_panel(job_id, panel_index, reason):
        logs.error("panel message dead-lettered", jobId=job_id, panelIndex=panel_index)
    job = store.get_job(job_id)
    if job is not None and job.status == JobStatus.RENDERING:
        finish_job_if_done(services, job)
