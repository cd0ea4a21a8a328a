"""Editing a finished comic's panel: its words or its image prompt, redoing only what changed."""

from __future__ import annotations

import time
from typing import Any

from panelflow import logs
from panelflow.domain import plan_limits
from panelflow.domain.editing import NARRATOR, PanelEdit, redo
from panelflow.domain.errors import Conflict, NotFound, ValidationFailed
from panelflow.domain.models import SIDES, Job, JobStatus, Panel
from panelflow.domain.quotas import UsageCharge
from panelflow.ports import JobDependencies
from panelflow.services.jobs import get_job_for, panel_view, quota_at

# A panel is edited once its job has ended; a cancelled job is retried first.
EDITABLE = (JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED)


def edit_panel(
    services: JobDependencies, owner_uid: str, job_id: str, index: int, edit: PanelEdit
) -> dict[str, Any]:
    """Writes the edit and queues what it makes necessary: changed words are re-spoken
    (never redrawn: lettering is a layer), a changed image prompt is redrawn.

    Returns:
        The panel as the API shows it, with ``redo``: nothing, speech, image or both.

    Raises:
        NotFound: no such job or panel for this caller.
        Conflict: the job or the panel is queued or running (or the job was cancelled).
        ValidationFailed: a speaker who is not in the comic, or text over the limits.
        QuotaExceeded: the work would exceed the caller's running jobs or panels a day.
    """
    job = get_job_for(services, owner_uid, job_id)
    if job.status not in EDITABLE:
        raise Conflict(
            f"job {job_id} is {job.status.value}; its panels can be edited once it has ended"
            + (" (retry it first)" if job.status == JobStatus.CANCELLED else "")
        )
    panel = services.store.get_panel(job_id, index)
    if panel is None:
        raise NotFound(f"job {job_id} has no panel with index {index}")
    if not panel.status.finished:
        raise Conflict(f"panel {index} is {panel.status.value}; edit it once it has finished")
    check_edit(job, panel, edit, services.settings.max_spoken_bytes)
    edited = edit.applied(panel)
    fields = edit.fields(panel)
    needed = redo(panel, edited)
    if fields or needed.paid:
        charge = None
        quota = quota_at(services, time.time())
        if needed.paid and quota is not None:
            # Re-speaking or redrawing a panel counts like ordering one.
            charge = UsageCharge(owner_uid, 1, quota)
        if not services.store.edit_panel(
            job_id, index, fields, expected=EDITABLE, requeue=needed.paid, charge=charge
        ):
            raise Conflict(f"job {job_id} changed meanwhile; try again")
        if needed.paid:
            services.queue.publish_panels(job_id, [index])
        logs.info("panel edited", jobId=job_id, panelIndex=index, redo=needed.value)
    current = services.store.get_panel(job_id, index) or edited
    return {**panel_view(services, current), "redo": needed.value}


def check_edit(job: Job, panel: Panel, edit: PanelEdit, max_spoken_bytes: int) -> None:
    """The edit against the comic: known speakers, text within the plan limits.

    Raises:
        ValidationFailed: one entry per bad field, named as in the request.
    """
    errors: list[dict[str, str]] = []

    def too_long(field: str, text: str | None, limit: int) -> None:
        if text is not None and len(text) > limit:
            errors.append(
                {"field": field, "reason": f"must be at most {limit} characters (got {len(text)})"}
            )

    too_long("caption", edit.caption, plan_limits.CAPTION_CHARS)
    too_long("narration", edit.narration, plan_limits.NARRATION_CHARS)
    too_long("imagePrompt", edit.image_prompt, plan_limits.IMAGE_PROMPT_CHARS)
    if edit.image_prompt is not None and not edit.image_prompt:
        errors.append({"field": "imagePrompt", "reason": "must not be empty"})
    lines = edit.dialogue or ()
    if len(lines) > plan_limits.DIALOGUE_LINES:
        errors.append(
            {
                "field": "dialogue",
                "reason": f"must have at most {plan_limits.DIALOGUE_LINES} lines",
            }
        )
    speakers = {character.name for character in job.characters} | {NARRATOR}
    for number, line in enumerate(lines):
        where = f"dialogue.{number}"
        if line.speaker not in speakers:
            errors.append(
                {
                    "field": f"{where}.speaker",
                    "reason": f"must be one of {', '.join(sorted(speakers))}",
                }
            )
        if not line.text:
            errors.append({"field": f"{where}.text", "reason": "must not be empty"})
        too_long(f"{where}.text", line.text, plan_limits.DIALOGUE_LINE_CHARS)
        if line.side not in SIDES:
            errors.append(
                {"field": f"{where}.side", "reason": f"must be one of {', '.join(SIDES)}"}
            )
    if not errors:
        spoken = plan_limits.spoken_bytes(edit.applied(panel).plan())
        if spoken > max_spoken_bytes:
            errors.append(
                {
                    "field": "dialogue" if edit.dialogue is not None else "narration",
                    "reason": f"the panel's spoken text must be at most {max_spoken_bytes} "
                    f"bytes of UTF-8 (got {spoken})",
                }
            )
    if errors:
        raise ValidationFailed(errors)
