"""Who may draw a panel: the lease rules every JobStore applies, adapter and fake alike.

A worker claims a panel by taking its lease (owner, attempt, expiry). While the lease is
live no other worker may claim it; once it expires the sweeper or a redelivery may. Only
the lease holder may finish or release the panel; the dead-letter handler and the sweeper
act for nobody in particular (owner None) and may finish any unfinished panel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from panelflow.domain.errors import LeaseHeld
from panelflow.domain.models import Job, Panel, PanelStatus


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a panel for rendering."""

    panel: Panel
    # True when this caller now holds the lease and should render.
    acquired: bool
    attempt: int = 0
    # The store's version of the claim write, handed back to complete_panel.
    token: object | None = None
    # Read with the panel, in the same round trip: its job (None if it is gone) and the
    # panel before it (None for the first), so the worker makes no separate reads for them.
    job: Job | None = None
    previous: Panel | None = None


def lease_is_live(panel: Panel, now: float) -> bool:
    """True while a worker holds the panel and its lease has not expired."""
    return panel.status == PanelStatus.RENDERING and (panel.lease_expires_at or 0) > now


def lease_expired(panel: Panel, now: float) -> bool:
    """True for a panel still rendering whose worker went silent (the sweeper's concern)."""
    return panel.status == PanelStatus.RENDERING and (panel.lease_expires_at or 0) < now


def claim(panel: Panel, owner: str, lease_seconds: float, now: float) -> Claim:
    """Decides a claim on ``panel`` by ``owner`` at ``now``.

    A finished panel is not claimed (a duplicate delivery); an unfinished one is taken with
    one more attempt and a lease until ``now + lease_seconds``. The same owner may claim
    again (a retry within its own delivery).

    Returns:
        The claim; when acquired, ``claim.panel`` is the panel as it must be stored.

    Raises:
        LeaseHeld: another owner holds a live lease.
    """
    if panel.status.finished:
        return Claim(panel=panel, acquired=False, attempt=panel.attempts)
    if lease_is_live(panel, now) and panel.lease_owner not in (None, owner):
        raise LeaseHeld(f"panel {panel.index} is being rendered by another worker")
    claimed = replace(
        panel,
        status=PanelStatus.RENDERING,
        attempts=panel.attempts + 1,
        lease_owner=owner,
        lease_expires_at=now + lease_seconds,
    )
    return Claim(panel=claimed, acquired=True, attempt=claimed.attempts)


def may_change(status: PanelStatus, holder: str | None, owner: str | None) -> bool:
    """Whether ``owner`` may finish or release a panel in ``status`` leased by ``holder``.

    A finished panel never changes again (a late write of an older attempt is ignored);
    ``owner`` None acts whoever holds the lease.
    """
    if status.finished:
        return False
    return owner is None or holder == owner
