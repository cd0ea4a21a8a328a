"""Character reference sheets: drawn only for characters a panel shows, counted by the quota.

A sheet is one image, paid like a panel: with a paid image provider each sheet counts as
one unit of the owner's daily panel quota (maxPanelsPerDay). When the quota has no room
left, the sheet is skipped and panels are drawn from the written description alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from panelflow import logs
from panelflow.domain.errors import QuotaExceeded
from panelflow.domain.models import Character, Job, StoryPlan
from panelflow.ports import PlanningDependencies

Render = Callable[[PlanningDependencies, str, Character, str], Character]


def with_references(
    services: PlanningDependencies, job: Job, plan: StoryPlan, render: Render
) -> list[Character]:
    """The plan's characters; those who appear in a panel with their sheet rendered."""
    appearing = {name for panel in plan.panels for name in panel.characters}
    return [
        render(services, job.job_id, character, job.art_style)
        if character.name in appearing
        else character
        for character in plan.characters
    ]


def charge_sheet(services: PlanningDependencies, job_id: str) -> bool:
    """Counts one sheet against the owner's daily quota; False when there is no room."""
    from panelflow.services.jobs import quota_at

    quota = quota_at(services, time.time())
    if services.settings.images != "google" or quota is None:
        return True
    job = services.store.get_job(job_id)
    if job is None:
        return False
    try:
        services.store.charge_usage(job.owner_uid, job_id, 1, quota)
    except QuotaExceeded as error:
        logs.warning(
            "reference sheet skipped: daily quota reached", jobId=job_id, limit=error.limit
        )
        return False
    return True
