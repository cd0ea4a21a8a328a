"""Per-user limits: jobs running at once and panels ordered per UTC day.

Each user has one usage record (``usage/{uid}`` in Firestore). Ordering work (starting a
job, retrying or regenerating panels) reads it, lets :func:`charge` decide, and writes the
new record in the same atomic write as the work itself, guarded by the record's version:
two concurrent orders by one user cannot both take the last slot, and no transaction is
held on a hot document. Jobs that ended are dropped from the record when it is next read,
so no state change elsewhere has to remember to give a slot back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from panelflow.domain.errors import QuotaExceeded

DAY_SECONDS = 86_400
# A slot frees when one of the caller's jobs ends; typical jobs take about a minute.
ACTIVE_RETRY_AFTER_S = 30


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def seconds_until_next_day(now: float) -> int:
    """Seconds until the next UTC midnight (at least 1)."""
    return max(1, int(DAY_SECONDS - now % DAY_SECONDS))


@dataclass(frozen=True)
class Quota:
    """The limits that apply to one order; 0 means no limit."""

    max_active_jobs: int
    max_panels_per_day: int
    # The time of the order, seconds since the epoch; it picks the UTC day.
    now: float

    @property
    def day(self) -> str:
        return utc_day(self.now)


@dataclass(frozen=True)
class Usage:
    """What one user has running and has ordered today."""

    active_jobs: tuple[str, ...] = ()
    day: str = ""
    panels: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"activeJobs": list(self.active_jobs), "day": self.day, "panels": self.panels}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        data = data or {}
        return cls(
            active_jobs=tuple(str(job_id) for job_id in data.get("activeJobs") or ()),
            day=str(data.get("day", "")),
            panels=int(data.get("panels", 0)),
        )


def charge(usage: Usage, still_active: list[str], quota: Quota, job_id: str, panels: int) -> Usage:
    """The usage after ordering ``panels`` panels of job ``job_id``.

    Args:
        usage: the stored record.
        still_active: the ids of ``usage.active_jobs`` whose job is still running.
        quota: the limits and the time of the order.
        job_id: the job the panels belong to (new, or re-queued).
        panels: panels ordered now.

    Raises:
        QuotaExceeded: naming the limit, with the seconds to wait before asking again.
    """
    day = quota.day
    used_today = usage.panels if usage.day == day else 0
    others = [active for active in still_active if active != job_id]
    if quota.max_active_jobs and len(others) >= quota.max_active_jobs:
        raise QuotaExceeded(
            f"at most {quota.max_active_jobs} of your jobs may run at once "
            f"(maxActiveJobs); wait for one to end or cancel one",
            limit="maxActiveJobs",
            retry_after=ACTIVE_RETRY_AFTER_S,
        )
    if quota.max_panels_per_day and used_today + panels > quota.max_panels_per_day:
        raise QuotaExceeded(
            f"at most {quota.max_panels_per_day} panels a day (maxPanelsPerDay, UTC): "
            f"{used_today} ordered today, {panels} more asked",
            limit="maxPanelsPerDay",
            retry_after=seconds_until_next_day(quota.now),
        )
    # With no limit on running jobs nothing needs tracking (and the list cannot grow).
    active = (*others, job_id) if quota.max_active_jobs else ()
    return Usage(active_jobs=active, day=day, panels=used_today + panels)


@dataclass(frozen=True)
class UsageCharge:
    """Panels a job orders again (retry, regenerate), charged to its owner in the same
    guarded write that moves the job back to running: a concurrent start cannot read the
    usage between the two and take the slot the job is about to hold again."""

    owner_uid: str
    panels: int
    quota: Quota
