"""Recording paid calls around provider calls, for the job's cost ledger (domain.costs)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import replace

from panelflow import logs
from panelflow.domain import costs
from panelflow.domain.errors import PanelflowError
from panelflow.ports import StoreDependencies


@contextlib.contextmanager
def metered(
    services: StoreDependencies,
    job_id: str,
    *,
    kind: str,
    provider: str,
    units: Mapping[str, int],
    panel_index: int | None = None,
    pending: list[costs.PaidCall] | None = None,
) -> Iterator[None]:
    """Records the paid calls the provider reports inside the block, priced, on the job.

    A provider that reports none (offline, simulated) is recorded as one call at zero cost
    with ``units``. Calls are recorded whether the block succeeds or fails: a refused or
    timed-out generation may be billed all the same. With ``pending`` they are added to it
    instead, for the caller to write later with ``record`` (one commit for a panel's calls,
    off its critical path).
    """
    with costs.recording() as calls:
        try:
            yield
        finally:
            if not calls and provider != "google":
                calls.append(
                    costs.PaidCall(kind=kind, provider=provider, model=provider, units=units)
                )
            priced = [
                costs.price(replace(call, panel_index=panel_index), services.settings.prices)
                for call in calls
            ]
            if pending is not None:
                pending.extend(priced)
            else:
                record(services, job_id, priced)


@contextlib.contextmanager
def held_back(
    services: StoreDependencies, job_id: str, pending: list[costs.PaidCall] | None = None
) -> Iterator[list[costs.PaidCall]]:
    """A list for ``metered(pending=...)`` (``pending``, or a new one): the block's paid
    calls, left for the caller to write with ``record`` when the block succeeds, written at
    once when it raises."""
    pending = [] if pending is None else pending
    try:
        yield pending
    except BaseException:
        record(services, job_id, pending)
        raise


def record(services: StoreDependencies, job_id: str, priced: list[costs.PaidCall]) -> None:
    """Writes priced calls to the job's cost ledger (one commit)."""
    if not priced:
        return
    try:
        services.store.record_costs(job_id, priced)
    except PanelflowError as error:
        # The ledger is an estimate: losing an entry must not fail the work it measures.
        logs.warning("could not record paid calls", jobId=job_id, code=error.code)
