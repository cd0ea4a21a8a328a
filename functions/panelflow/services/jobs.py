"""Starting jobs and reading them back for their owner."""

from __future__ import annotations

import time
import uuid
from typing import Any

from panelflow import logs
from panelflow.bootstrap import Services
from panelflow.domain.errors import NotFound, PanelflowError
from panelflow.domain.models import Job, JobRequest, JobStatus


def start_job(services: Services, owner_uid: str, request: JobRequest) -> Job:
    """Creates the job and queues its planning; no model is called here.

    Args:
        services: the composition root.
        owner_uid: the authenticated caller.
        request: a validated request.

    Returns:
        The queued job.

    Raises:
        TransientError: the store or the queue is unavailable; nothing is left behind.
    """
    now = time.time()
    job = Job(
        job_id=uuid.uuid4().hex,
        owner_uid=owner_uid,
        status=JobStatus.QUEUED,
        style=request.style,
        language=request.language,
        panels_requested=request.panels,
        created_at=now,
        updated_at=now,
    )
    services.store.create_job(job, request.story)
    try:
        services.queue.publish_plan(job.job_id)
    except PanelflowError:
        # A job nobody will plan must not linger in the user's list: undo and report.
        services.store.delete_job(job.job_id)
        raise
    logs.info("job queued", jobId=job.job_id, panels=request.panels, style=request.style)
    return job


def get_job_for(services: Services, owner_uid: str, job_id: str) -> Job:
    """Returns the caller's job; someone else's job is reported as missing, so ids do not leak."""
    job = services.store.get_job(job_id)
    if job is None or job.owner_uid != owner_uid:
        raise NotFound(f"no job {job_id}")
    return job


def job_view(services: Services, job: Job) -> dict[str, Any]:
    """The job with its panels, as the API returns it; progress is derived from the panels."""
    panels = services.store.list_panels(job.job_id) if job.panel_count else []
    done = sum(1 for panel in panels if panel.status.value == "done")
    failed = sum(1 for panel in panels if panel.status.value == "failed")
    view = job.to_dict()
    view.update(
        panelsDone=max(done, job.panels_done),
        panelsFailed=max(failed, job.panels_failed),
        progress=((done + failed) / job.panel_count) if job.panel_count else view["progress"],
        panels=[_panel_view(panel.to_dict()) for panel in panels],
    )
    return view


def _panel_view(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("lease", None)
    return data
