"""The plan step: story → characters and panels → one message per panel."""

from __future__ import annotations

import time

from panelflow import logs
from panelflow.domain import assets, plan_limits
from panelflow.domain.errors import JobCancelled, PanelflowError
from panelflow.domain.models import Character, JobStatus, PanelStatus
from panelflow.ports import PlanningDependencies
from panelflow.services import references
from panelflow.services.deletion import forget_if_deleted
from panelflow.services.metering import metered
from panelflow.services.rendering import ensure_active
from panelflow.services.translation import translate_job


def plan_job(services: PlanningDependencies, job_id: str) -> None:
    """Plans a queued job and fans its panels out; safe to run again for the same job.

    Redelivery is expected: a job already planned re-publishes its pending panels (the
    workers ignore finished ones), and a finished or cancelled job is left alone.

    Raises:
        TransientError: try again later (the message is redelivered).
    """
    store = services.store
    job = store.get_job(job_id)
    if job is None:
        logs.warning("plan message for a job that does not exist", jobId=job_id)
        return
    if job.status.terminal:
        return
    if job.status == JobStatus.RENDERING:
        _publish_unfinished(services, job_id)
        return
    if job.translated_from:
        translate_job(services, job)
        return
    # No "planning" write: the job goes from queued to rendering in one write when its
    # plan is stored, which keeps the job document at most one write per second.
    started = time.monotonic()
    try:
        story = store.get_story(job_id)
        with metered(services, job_id, kind="plan", provider=services.settings.planner, units={}):
            plan = services.planner.plan(
                story, panels=job.panels_requested, style=job.art_style, language=job.language
            )
        # Every planner's plan passes the same limits before it is saved (cost caps).
        plan = plan_limits.clamp(plan, spoken_bytes=services.settings.max_spoken_bytes)
        characters = references.with_references(services, job, plan, _with_reference)
    except JobCancelled:
        logs.info("planning stopped: the job was cancelled", jobId=job_id)
        forget_if_deleted(store, services.blobs, job_id)
        return
    except PanelflowError as error:
        if error.retryable:
            raise
        if not store.transition_job(
            job_id,
            [JobStatus.QUEUED, JobStatus.PLANNING],
            JobStatus.FAILED,
            error={"code": error.code, "message": error.message},
        ):
            forget_if_deleted(store, services.blobs, job_id)
        logs.warning("planning failed", jobId=job_id, code=error.code)
        return
    plan_ms = int((time.monotonic() - started) * 1000)
    if store.save_plan(job_id, plan, characters, plan_ms):
        logs.info("job planned", jobId=job_id, panels=len(plan.panels), planMs=plan_ms)
        # Just written, all pending: fan out without reading them back.
        services.queue.publish_panels(job_id, [panel.index for panel in plan.panels])
    elif not forget_if_deleted(store, services.blobs, job_id):
        _publish_unfinished(services, job_id)


def _publish_unfinished(services: PlanningDependencies, job_id: str) -> None:
    job = services.store.get_job(job_id)
    if job is None or job.status != JobStatus.RENDERING:
        return
    indexes = [
        panel.index
        for panel in services.store.list_panels(job_id)
        if panel.status in (PanelStatus.PENDING, PanelStatus.RENDERING)
    ]
    if indexes:
        services.queue.publish_panels(job_id, indexes)


def _with_reference(
    services: PlanningDependencies, job_id: str, character: Character, style: str
) -> Character:
    """Renders the character's reference sheet once; a redelivery finds it already stored."""
    path = assets.character_sheet_path(job_id, character, style, services.image_engine)
    if services.blobs.exists(path) is None:
        if not references.charge_sheet(services, job_id):
            return character
        ensure_active(services, job_id)
        with metered(
            services,
            job_id,
            kind="reference",
            provider=services.settings.images,
            units={"images": 1},
        ):
            sheet = services.images.character_sheet(character, style=style)
        services.blobs.put(
            path, sheet.data, sheet.content_type, width=sheet.width, height=sheet.height
        )
    return Character(
        name=character.name,
        description=character.description,
        voice=character.voice,
        reference_path=path,
    )
