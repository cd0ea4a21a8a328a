"""The sweeper: a scheduled pass that makes sure nothing waits forever.

It re-queues panels whose worker vanished (lease expired) or fails them after too many
claims, re-sends the plan message of a job stuck in the queue, and fails what is left of
a job that has not moved for its deadline, so every job ends in a state a user can act on.
"""

from __future__ import annotations

import time

from panelflow import logs
from panelflow.domain.models import JobStatus
from panelflow.ports import JobDependencies
from panelflow.services.rendering import finish_job_if_done


def sweep(services: JobDependencies, now: float | None = None) -> dict[str, int]:
    """Runs one pass; safe to run concurrently with the workers and with itself.

    Returns:
        Counts of what it did, for the logs and the caller.
    """
    now = time.time() if now is None else now
    report = {"requeued": 0, "panelsFailed": 0, "replanned": 0, "jobsTimedOut": 0}
    _recover_expired_leases(services, now, report)
    _recover_stalled_plans(services, now, report)
    _time_out_rendering_jobs(services, now, report)
    # Where there is no TTL policy (the emulator), expired records are deleted here.
    report["expiredDeleted"] = sum(services.store.purge_expired(now).values())
    if any(report.values()):
        logs.info("sweep", **report)
    return report


def _recover_expired_leases(services: JobDependencies, now: float, report: dict[str, int]) -> None:
    """Requeues a panel whose worker vanished, or fails it once it has used its attempts."""
    store, settings = services.store, services.settings
    for panel in store.expired_leases(now):
        job = store.get_job(panel.job_id)
        if job is None or job.status != JobStatus.RENDERING:
            store.release_panel(panel.job_id, panel.index, None)
            continue
        if panel.attempts >= settings.max_attempts:
            reason = {
                "code": "worker_lost",
                "message": f"the worker drawing this panel stopped {panel.attempts} times; "
                "retry it later",
            }
            if store.fail_panel(panel.job_id, panel.index, reason):
                report["panelsFailed"] += 1
                finish_job_if_done(services, job)
        elif store.release_panel(panel.job_id, panel.index, None):
            services.queue.publish_panels(panel.job_id, [panel.index])
            report["requeued"] += 1


def _recover_stalled_plans(services: JobDependencies, now: float, report: dict[str, int]) -> None:
    """Asks for a plan again, or fails the job once it is past its deadline."""
    store, settings = services.store, services.settings
    waiting = (JobStatus.QUEUED, JobStatus.PLANNING)
    for job in store.stale_jobs(waiting, now - settings.plan_deadline_seconds):
        if now - job.created_at > settings.job_deadline_seconds:
            error = {"code": "planning_timed_out", "message": "planning did not finish in time"}
            if store.transition_job(job.job_id, waiting, JobStatus.FAILED, error=error):
                report["jobsTimedOut"] += 1
        else:
            services.queue.publish_plan(job.job_id)
            report["replanned"] += 1


def _time_out_rendering_jobs(services: JobDependencies, now: float, report: dict[str, int]) -> None:
    """Fails the unfinished panels of a job past its deadline, which then finishes it."""
    store, settings = services.store, services.settings
    for job in store.stale_jobs((JobStatus.RENDERING,), now - settings.job_deadline_seconds):
        reason = {"code": "timed_out", "message": "this panel did not finish in time"}
        for panel in store.list_panels(job.job_id):
            if not panel.status.finished:
                store.fail_panel(job.job_id, panel.index, reason)
        if finish_job_if_done(services, job) is not None:
            report["jobsTimedOut"] += 1
