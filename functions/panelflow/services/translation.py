"""Translating a finished comic: a new job with the same images and the words re-spoken.

The new job is the owner's like any other (listed, deletable, counted by the quotas). Its
images are copies of the source's, stored under the new job (``jobs/{jobId}/``): deleting
either comic then removes only its own files. The planner translates the words in the plan
step (where the model's credentials are), and the workers speak them; nothing is drawn.
"""

from __future__ import annotations

import time
import uuid

from panelflow import logs
from panelflow.domain import assets, translation
from panelflow.domain.errors import (
    Conflict,
    JobCancelled,
    NotFound,
    PanelflowError,
    TranslationUnavailable,
    ValidationFailed,
)
from panelflow.domain.models import Asset, Character, Job, JobStatus, Panel, StoryPlan
from panelflow.ports import JobDependencies, PlanningDependencies
from panelflow.services.deletion import forget_if_deleted
from panelflow.services.jobs import get_job_for, quota_at
from panelflow.services.metering import metered
from panelflow.settings import TRANSLATION_NEEDS, translation_available


def start_translation(services: JobDependencies, owner_uid: str, job_id: str, language: str) -> Job:
    """Queues a translated copy of a completed comic; no model is called here.

    Returns:
        The new, queued job.

    Raises:
        TranslationUnavailable: this deployment's planner cannot translate.
        NotFound: no such job for this caller.
        Conflict: the comic is not completed.
        ValidationFailed: ``language`` is the comic's own.
        QuotaExceeded: the new job would exceed the caller's running jobs or panels a day.
    """
    if not translation_available(services.settings):
        raise TranslationUnavailable(TRANSLATION_NEEDS)
    source = get_job_for(services, owner_uid, job_id)
    if source.status not in translation.TRANSLATABLE:
        raise Conflict(
            f"job {job_id} is {source.status.value}; only a completed comic can be translated "
            "(retry its failed panels first)"
        )
    if language == source.language:
        raise ValidationFailed(
            [{"field": "language", "reason": f"the comic is already in {language}"}]
        )
    now = time.time()
    job = Job(
        job_id=uuid.uuid4().hex,
        owner_uid=owner_uid,
        status=JobStatus.QUEUED,
        style=source.style,
        style_text=source.style_text,
        language=language,
        panels_requested=source.panel_count,
        title=source.title,
        created_at=now,
        updated_at=now,
        translated_from=source.job_id,
    )
    try:
        story = services.store.get_story(source.job_id)
    except NotFound:
        story = source.title  # the story's retention ran out; the panels carry the words
    # Its panels count like ordered ones (each is spoken again) and it holds a running slot.
    services.store.create_job(job, story, None, quota_at(services, now))
    try:
        services.queue.publish_plan(job.job_id)
    except PanelflowError:
        services.store.delete_job(job.job_id)
        raise
    logs.info("translation queued", jobId=job.job_id, source=source.job_id, language=language)
    return job


def translate_job(services: PlanningDependencies, job: Job) -> None:
    """The plan step of a translation: the words translated, the images copied, the panels
    fanned out to be spoken (their images already in place, so none is drawn).

    Raises:
        TransientError: try again later (the message is redelivered).
    """
    store = services.store
    started = time.monotonic()
    try:
        source, panels = _source(services, job)
        plan = StoryPlan(
            title=source.title,
            characters=tuple(source.characters),
            panels=tuple(panel.plan() for panel in panels),
        )
        with metered(
            services, job.job_id, kind="translate", provider=services.settings.planner, units={}
        ):
            translated = services.planner.translate(
                plan, source_language=source.language, language=job.language
            )
        plan = translation.merged(plan, translated, spoken_bytes=services.settings.max_spoken_bytes)
        characters = [_copied_sheet(services, job, c) for c in source.characters]
        images = _copied_images(services, job, plan, characters, panels)
    except JobCancelled:
        forget_if_deleted(store, services.blobs, job.job_id)
        return
    except PanelflowError as error:
        if error.retryable:
            raise
        if not store.transition_job(
            job.job_id,
            [JobStatus.QUEUED, JobStatus.PLANNING],
            JobStatus.FAILED,
            error={"code": error.code, "message": error.message},
        ):
            forget_if_deleted(store, services.blobs, job.job_id)
        logs.warning("translation failed", jobId=job.job_id, code=error.code)
        return
    plan_ms = int((time.monotonic() - started) * 1000)
    planned = store.save_plan(job.job_id, plan, characters, plan_ms, images)
    if planned:
        logs.info("job translated", jobId=job.job_id, panels=len(plan.panels), planMs=plan_ms)
        indexes = [panel.index for panel in plan.panels]
        services.queue.publish_panels(job.job_id, indexes, planned)
    else:
        forget_if_deleted(store, services.blobs, job.job_id)


class SourceUnavailable(PanelflowError):
    code = "source_unavailable"
    http_status = 409


def _source(services: PlanningDependencies, job: Job) -> tuple[Job, list[Panel]]:
    """The comic being translated, with every panel's image."""
    source = services.store.get_job(job.translated_from)
    panels = services.store.list_panels(job.translated_from) if source else []
    if source is None or not panels or any(panel.image is None for panel in panels):
        raise SourceUnavailable(
            "the comic to translate was deleted or changed; translate it again once it is completed"
        )
    return source, panels


def _moved(path: str, source_id: str, job_id: str) -> str:
    """The same file name under the new job's folder."""
    return f"jobs/{job_id}/{path.removeprefix(f'jobs/{source_id}/')}"


def _copy(services: PlanningDependencies, path: str, to: str) -> Asset:
    found = services.blobs.exists(path)
    if found is None:
        raise SourceUnavailable(f"a file of the comic to translate is missing ({path})")
    meta = {
        key: value
        for key, value in (("width", found.width), ("height", found.height))
        if value is not None
    }
    return services.blobs.put(to, services.blobs.get(path), found.content_type, **meta)


def _copied_sheet(services: PlanningDependencies, job: Job, character: Character) -> Character:
    """The character with its reference sheet copied (a later redraw of a translated panel
    draws from it)."""
    if not character.reference_path:
        return character
    path = _moved(character.reference_path, job.translated_from, job.job_id)
    _copy(services, character.reference_path, path)
    return Character(
        name=character.name,
        description=character.description,
        voice=character.voice,
        reference_path=path,
    )


def _copied_images(
    services: PlanningDependencies,
    job: Job,
    plan: StoryPlan,
    characters: list[Character],
    panels: list[Panel],
) -> dict[int, Asset]:
    """Each panel's image, copied to the name the worker derives for the new panel (so the
    worker finds it current and keeps it)."""
    translated = Job.from_dict({**job.to_dict(), "characters": [c.to_dict() for c in characters]})
    images: dict[int, Asset] = {}
    for panel_plan, panel in zip(plan.panels, panels, strict=True):
        assert panel.image is not None  # checked by _source
        new_panel = Panel.from_plan(job.job_id, panel_plan)
        drawn = assets.panel_characters(translated, new_panel)
        path = assets.panel_image_path(
            translated, new_panel, panel_plan, drawn, services.image_engine
        )
        images[panel_plan.index] = _copy(services, panel.image.path, path)
    return images
