"""Starting jobs and reading them back for their owner."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from panelflow import logs
from panelflow.domain import costs
from panelflow.domain.errors import NotFound, PanelflowError
from panelflow.domain.models import IdempotencyRecord, Job, JobRequest, JobStatus, Panel
from panelflow.domain.quotas import Quota
from panelflow.ports import JobDependencies


def start_job(
    services: JobDependencies,
    owner_uid: str,
    request: JobRequest,
    idempotency_key: str | None = None,
) -> Job:
    """Creates the job and queues its planning; no model is called here.

    Args:
        services: the store, the queue and the settings.
        owner_uid: the authenticated caller.
        request: a validated request.
        idempotency_key: the caller's Idempotency-Key; a repeat within the key's lifetime
            returns the first request's job.

    Returns:
        The queued job (or the earlier one, for a repeated key).

    Raises:
        IdempotencyConflict: the key was used with a different request.
        QuotaExceeded: the caller has too many jobs running or ordered too many panels today.
        TransientError: the store or the queue is unavailable; nothing is left behind.
    """
    now = time.time()
    record = None
    if idempotency_key is not None:
        record = IdempotencyRecord(
            key_id=_digest(owner_uid, idempotency_key),
            body_hash=_digest(
                request.story,
                request.style,
                str(request.panels),
                request.language,
                # Only a custom style adds a part: other keys hash as they always did.
                *([request.style_text] if request.style_text else []),
            ),
            expires_at=now + services.settings.idempotency_ttl_seconds,
        )
    job = Job(
        job_id=uuid.uuid4().hex,
        owner_uid=owner_uid,
        status=JobStatus.QUEUED,
        style=request.style,
        style_text=request.style_text,
        language=request.language,
        panels_requested=request.panels,
        created_at=now,
        updated_at=now,
        idempotency_key_id=record.key_id if record else "",
    )
    stored = services.store.create_job(job, request.story, record, quota_at(services, now))
    if stored.job_id != job.job_id:
        logs.info("repeated request answered with its first job", jobId=stored.job_id)
        return stored
    try:
        services.queue.publish_plan(job.job_id)
    except PanelflowError:
        # A job nobody will plan must not linger in the user's list: undo and report.
        services.store.delete_job(job.job_id, job.idempotency_key_id)
        raise
    logs.info("job queued", jobId=job.job_id, panels=request.panels, style=request.style)
    return job


def quota_at(services: JobDependencies, now: float) -> Quota | None:
    """The per-user limits of the settings, for an order placed at ``now``; None when both
    are off, so no usage record is written (nor contended) at all."""
    settings = services.settings
    if not settings.max_active_jobs and not settings.max_panels_per_day:
        return None
    return Quota(settings.max_active_jobs, settings.max_panels_per_day, now)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def get_job_for(services: JobDependencies, owner_uid: str, job_id: str) -> Job:
    """Returns the caller's job; someone else's job is reported as missing, so ids do not leak."""
    job = services.store.get_job(job_id)
    if job is None or job.owner_uid != owner_uid:
        raise NotFound(f"no job {job_id}")
    return job


def job_view(services: JobDependencies, job: Job) -> dict[str, Any]:
    """The job with its panels, as the API returns it to its owner (callers check that):
    progress is derived from the panels, and each image and audio file carries a freshly
    signed, short-lived ``url`` with its ``expiresAt``."""
    panels = services.store.list_panels(job.job_id) if job.panel_count else []
    done = sum(1 for panel in panels if panel.status.value == "done")
    failed = sum(1 for panel in panels if panel.status.value == "failed")
    view = job.to_dict()
    view.update(
        panelsDone=max(done, job.panels_done),
        panelsFailed=max(failed, job.panels_failed),
        progress=((done + failed) / job.panel_count) if job.panel_count else view["progress"],
        panels=[_panel_view(services, panel.to_dict()) for panel in panels],
    )
    # The cost ledger, beside the timings: the job's sum and each panel's own.
    calls = services.store.list_costs(job.job_id)
    view["cost"] = costs.summary(calls)
    for panel_view in view["panels"]:
        panel_view["cost"] = costs.summary(c for c in calls if c.panel_index == panel_view["index"])
    return view


def panel_view(services: JobDependencies, panel: Panel) -> dict[str, Any]:
    """One panel as the API returns it to its owner (callers check that), with signed links."""
    return _panel_view(services, panel.to_dict())


def _panel_view(services: JobDependencies, data: dict[str, Any]) -> dict[str, Any]:
    data.pop("lease", None)
    lifetime = services.settings.signed_url_seconds
    for kind in ("image", "audio"):
        asset = data.get(kind)
        if asset and asset.get("path"):
            signed = services.blobs.signed_url(asset["path"], lifetime)
            data[kind] = {**asset, "url": signed.url, "expiresAt": signed.expires_at}
    return data
