"""How long what a user gave us is kept (docs/security.md, "Retention").

Each kept document carries the moment it may be deleted in an ``expiresAt`` timestamp field:
Firestore's TTL policies (infra/terraform/firestore.tf) delete it in production, and the
sweeper deletes it where there is no TTL (the emulator of the local stack).
"""

from __future__ import annotations

from datetime import UTC, datetime

from panelflow.domain.quotas import DAY_SECONDS, seconds_until_next_day

# The field every expiring document carries, and the collections that have one.
EXPIRES_AT = "expiresAt"


def timestamp(epoch_seconds: float) -> datetime:
    """A Firestore timestamp (a TTL policy needs one, not a number)."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def story_expires_at(since: float, retention_days: int) -> float:
    """A story is kept ``retention_days`` after its job ends (written again when it does;
    counted from the job's start until then, so a job that never ends expires too)."""
    return since + retention_days * DAY_SECONDS


def usage_expires_at(now: float) -> float:
    """A usage record is kept through the day after its day, so that a job running across
    midnight keeps its slot; every order writes it again."""
    return now + seconds_until_next_day(now) + DAY_SECONDS
