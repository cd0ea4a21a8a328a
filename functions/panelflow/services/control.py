"""What an owner can do to a job from any device: cancel, retry failed panels, regenerate."""

from __future__ import annotations

import time

from panelflow import logs
from panelflow.domain.errors import Conflict, NotFound
from panelflow.domain.models import Job, JobStatus, PanelStatus
from panelflow.domain.quotas import UsageCharge
from panelflow.ports import JobDependencies
from panelflow.services.jobs import get_job_for, quota_at

ACTIVE = (JobStatus.QUEUED, JobStatus.PLANNING, JobStatus.RENDERING)
ENDED = (JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED)


def cancel_job(services: JobDependencies, owner_uid: str, job_id: str) -> Job:
    """Cancels a job that has not ended; workers stop before their next paid call.

    Raises:
        NotFound: no such job for this caller.
        Conflict: the job has already ended.
    """
    job = get_job_for(services, owner_uid, job_id)
    if not services.store.transition_job(job_id, ACTIVE, JobStatus.CANCELLED):
        current = services.store.get_job(job_id)
        if current is not None and current.status == JobStatus.CANCELLED:
            return current  # cancelling twice is not an error
        raise Conflict(f"job {job_id} has already ended ({job.status.value})")
    logs.info("job cancelled", jobId=job_id)
    return services.store.get_job(job_id) or job


def retry_job(services: JobDependencies, owner_uid: str, job_id: str) -> Job:
    """Re-queues the failed panels of an ended job (and, for a cancelled one, the unfinished
    panels too); a job that failed before it had panels is planned again.

    Raises:
        NotFound: no such job for this caller.
        Conflict: the job is still running, or has nothing to retry.
        QuotaExceeded: the job would exceed the caller's running jobs or panels a day.
    """
    job = get_job_for(services, owner_uid, job_id)
    if job.status not in ENDED:
        raise Conflict(f"job {job_id} is still {job.status.value}; retry it once it ends")
    if not job.panel_count:
        if not services.store.transition_job(
            job_id,
            (JobStatus.FAILED, JobStatus.CANCELLED),
            JobStatus.QUEUED,
            charge=_charge(services, owner_uid, job.panels_requested),
            error=None,
        ):
            raise Conflict(f"job {job_id} changed meanwhile; try again")
        services.queue.publish_plan(job_id)
        return services.store.get_job(job_id) or job
    again = {PanelStatus.FAILED}
    if job.status == JobStatus.CANCELLED:
        again |= {PanelStatus.PENDING, PanelStatus.RENDERING}
    indexes = [p.index for p in services.store.list_panels(job_id) if p.status in again]
    if not indexes:
        raise Conflict(f"job {job_id} has no failed panels to retry")
    charge = _charge(services, owner_uid, len(indexes))
    if not services.store.requeue_panels(job_id, indexes, ENDED, charge=charge):
        raise Conflict(f"job {job_id} changed meanwhile; try again")
    services.queue.publish_panels(job_id, indexes)
    logs.info("panels re-queued", jobId=job_id, panels=len(indexes))
    return services.store.get_job(job_id) or job


def regenerate_panel(services: JobDependencies, owner_uid: str, job_id: str, index: int) -> Job:
    """Makes one panel again under a new generation; a late write of an older attempt is
    ignored because the regenerate takes its lease away.

    Raises:
        NotFound: no such job or panel for this caller.
        Conflict: the job is not planned yet or was cancelled.
        QuotaExceeded: the panel would exceed the caller's running jobs or panels a day.
    """
    job = get_job_for(services, owner_uid, job_id)
    if job.status in (JobStatus.QUEUED, JobStatus.PLANNING, JobStatus.CANCELLED):
        raise Conflict(f"job {job_id} is {job.status.value}; its panels cannot be regenerated")
    if services.store.get_panel(job_id, index) is None:
        raise NotFound(f"job {job_id} has no panel with index {index}")
    allowed = (JobStatus.RENDERING, JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED)
    charge = _charge(services, owner_uid, 1)
    if not services.store.requeue_panels(job_id, [index], allowed, regenerate=True, charge=charge):
        raise Conflict(f"job {job_id} changed meanwhile; try again")
    services.queue.publish_panels(job_id, [index])
    logs.info("panel regenerating", jobId=job_id, panelIndex=index)
    return services.store.get_job(job_id) or job


def _charge(services: JobDependencies, owner_uid: str, panels: int) -> UsageCharge | None:
    """Panels drawn again count like new ones, and a job running again takes a slot.

    The store charges them in the same guarded write that moves the job back to running: a
    start that read the usage in between would otherwise see the job as ended and take its
    slot. A re-queue that loses a race (409) charges nothing.
    """
    quota = quota_at(services, time.time())
    return UsageCharge(owner_uid, panels, quota) if quota is not None else None
