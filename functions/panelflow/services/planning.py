"""The plan step: story → characters and panels → one message per panel."""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor

from panelflow import logs
from panelflow.domain import assets, plan_limits
from panelflow.domain.costs import PaidCall
from panelflow.domain.errors import JobCancelled, NotFound, PanelflowError
from panelflow.domain.models import Character, JobStatus, PanelStatus, StoryPlan
from panelflow.ports import PlanningDependencies
from panelflow.services import metering, references
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
    started = time.monotonic()
    # The job and its story in one read.
    job, story = store.get_job_and_story(job_id)
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
    try:
        if story is None:
            raise NotFound(f"no story stored for job {job_id}")
        read = time.monotonic()
        # The plan's and the sheets' paid calls are written with the plan, not one commit
        # after each call (at once if planning fails).
        with metering.held_back(services, job_id) as ledger:
            provider = services.settings.planner
            with metered(
                services, job_id, kind="plan", provider=provider, units={}, pending=ledger
            ):
                plan = services.planner.plan(
                    story, panels=job.panels_requested, style=job.art_style, language=job.language
                )
            planned = time.monotonic()
            # Every planner's plan passes the same limits before it is saved (cost caps).
            plan = plan_limits.clamp(plan, spoken_bytes=services.settings.max_spoken_bytes)
            render = functools.partial(_with_reference, ledger=ledger)
            characters = references.with_references(services, job, plan, render)
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
    _save_and_fan_out(services, job_id, (plan, characters, ledger), (started, read, planned))


def _save_and_fan_out(
    services: PlanningDependencies,
    job_id: str,
    planned_job: tuple[StoryPlan, list[Character], list[PaidCall]],
    times: tuple[float, float, float],
) -> None:
    """Saves the plan (its paid calls written meanwhile) and publishes one message a panel."""
    store = services.store
    plan, characters, ledger = planned_job
    started, read, planned = times
    sheets = time.monotonic()
    plan_ms = int((sheets - started) * 1000)
    # The plan's and the sheets' paid calls are written in the plan's commit (at once, on
    # their own, if the save raises: paid for, whatever became of the plan).
    with metering.held_back(services, job_id, ledger):
        stored = store.save_plan(job_id, plan, characters, plan_ms, costs=ledger)
    saved = time.monotonic()
    if not stored:
        # Not saved (cancelled, deleted or planned by another delivery): the calls on their
        # own, before a deleted job's leftovers are removed, so they go with the rest.
        metering.record(services, job_id, ledger)
        if not forget_if_deleted(store, services.blobs, job_id):
            _publish_unfinished(services, job_id)
        return
    # Just written, all pending: fan out without reading them back, with the plan's
    # version, so each worker takes its lease without reading first. Reading order:
    # panel 1, where a reader starts, is published (so delivered and claimed) ahead
    # of the others, which follow as soon as it is accepted.
    indexes = [panel.index for panel in plan.panels]
    services.queue.publish_panels(job_id, indexes[:1], stored)
    services.queue.publish_panels(job_id, indexes[1:], stored)
    published = time.monotonic()
    logs.info(
        "job planned",
        jobId=job_id,
        panels=len(plan.panels),
        planMs=plan_ms,
        # Where the step's time went: reads, the planner's call, sheets, save, fan-out.
        stepsMs={
            name: int((end - begin) * 1000)
            for name, begin, end in (
                ("read", started, read),
                ("planner", read, planned),
                ("sheets", planned, sheets),
                ("save", sheets, saved),
                ("publish", saved, published),
            )
        },
    )


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
    services: PlanningDependencies,
    job_id: str,
    character: Character,
    style: str,
    ledger: list[PaidCall],
) -> Character:
    """Renders the character's reference sheet once; a redelivery finds it already stored."""
    path = assets.character_sheet_path(job_id, character, style, services.image_engine)
    # Whether the sheet is stored, and the cancel check its drawing needs: two reads at
    # once, not one after the other (the check is wasted only when a redelivery finds the
    # sheet already drawn).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cancel-check") as pool:
        active = pool.submit(ensure_active, services, job_id)
        stored = services.blobs.exists(path)
        if stored is None:
            active.result()  # JobCancelled: no sheet is paid for a cancelled job
    if stored is None:
        if not references.charge_sheet(services, job_id):
            return character
        with metered(
            services,
            job_id,
            kind="reference",
            provider=services.settings.images,
            units={"images": 1},
            pending=ledger,
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
