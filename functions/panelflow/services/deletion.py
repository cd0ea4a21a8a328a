"""Users own their data: deleting one comic, or the whole account, leaves nothing behind.

A running job is cancelled first, so no worker starts another paid call for it (each checks
the job right before its next call). The job document is removed before everything stored
beside it: a worker whose call was already under way finds its job gone when it is done and
removes what it wrote (:func:`forget_if_deleted`), so no asset or cost record outlives it.
"""

from __future__ import annotations

from panelflow import logs
from panelflow.domain.models import Job, JobStatus
from panelflow.ports import AccountDependencies, BlobStore, JobStore, SharingDependencies
from panelflow.services.jobs import get_job_for

RUNNING = (JobStatus.QUEUED, JobStatus.PLANNING, JobStatus.RENDERING)
# Jobs read per page while an account is emptied.
PAGE = 100


def job_prefix(job_id: str) -> str:
    """Where every asset of a job is stored (``panelflow.domain.assets``)."""
    return f"jobs/{job_id}/"


def delete_job(services: SharingDependencies, owner_uid: str, job_id: str) -> None:
    """Deletes the caller's job: cancelled if running, then the job, its panels, its cost
    ledger, its story, its idempotency key, its share links, what was recorded of its
    notifications and its assets.

    Raises:
        NotFound: no such job for this caller (also when it was deleted already).
    """
    _erase(services, get_job_for(services, owner_uid, job_id))


def delete_account(services: AccountDependencies, owner_uid: str) -> int:
    """Deletes every job of the caller (as :func:`delete_job`), their usage record, keys,
    stories and registered devices, then their sign-in account.

    Returns:
        How many jobs were deleted.

    Raises:
        TransientError: a store is unavailable; what was deleted stays deleted, and asking
            again finishes the rest.
    """
    deleted = 0
    while jobs := services.store.list_jobs(owner_uid, limit=PAGE):
        for job in jobs:
            _erase(services, job)
        deleted += len(jobs)
    services.store.delete_owner_records(owner_uid)
    services.devices.delete_devices(owner_uid)
    services.authenticator.delete_user(owner_uid)
    logs.info("account deleted", jobs=deleted)
    return deleted


def forget_if_deleted(store: JobStore, blobs: BlobStore, job_id: str) -> bool:
    """After a worker's paid call: when the job was deleted meanwhile, removes what this
    worker wrote for it (assets, cost records). Returns True when the job is gone."""
    if store.get_job(job_id) is not None:
        return False
    blobs.delete_prefix(job_prefix(job_id))
    store.delete_job(job_id)
    logs.info("removed what was written for a deleted job", jobId=job_id)
    return True


def _erase(services: SharingDependencies, job: Job) -> None:
    if job.status in RUNNING:
        # Workers check the job before each paid call: cancelled, none starts another.
        services.store.transition_job(job.job_id, RUNNING, JobStatus.CANCELLED)
    # Its links first: from here on none opens the comic, even while the rest goes.
    services.shares.delete_shares(job.job_id)
    services.store.delete_job(job.job_id, job.idempotency_key_id)
    services.devices.forget_notifications(job.job_id)
    services.blobs.delete_prefix(job_prefix(job.job_id))
    logs.info("job deleted", jobId=job.job_id)
