"""The cost ledger: every paid call a job makes, priced from a table and summed.

Adapters report what a call consumed (tokens, images, characters) with ``record``; they know
no prices. The services collect those reports around each provider call with ``recording``,
price them with the settings' price table and store them per job (and per panel). A provider
that reports nothing (offline, simulated) is recorded as one call at zero cost, so the
ledger still counts what was asked for. Retries, re-asks, re-rolls and regenerations are
separate calls, each recorded.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

CURRENCY = "USD"
# Prices are quoted per million tokens or characters and per image.
UNIT_SCALE = {"inputTokens": 1_000_000, "outputTokens": 1_000_000, "characters": 1_000_000}


@dataclass(frozen=True)
class PaidCall:
    """One call to a provider that bills (or would bill) for it."""

    kind: str  # plan | reference | image | speech
    provider: str  # google | offline | simulated
    # The model id, or for speech the voice tier (standard, wavenet, neural2, chirp3-hd, ...).
    model: str
    units: Mapping[str, int] = field(default_factory=dict)
    # ok; or why the call returned nothing usable (refused, empty, timeout): still billed.
    outcome: str = "ok"
    estimate: float = 0.0
    panel_index: int | None = None
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "callId": self.call_id,
            "kind": self.kind,
            "provider": self.provider,
            "model": self.model,
            "units": dict(self.units),
            "outcome": self.outcome,
            "estimate": self.estimate,
            "panelIndex": self.panel_index,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaidCall:
        return cls(
            kind=str(data.get("kind", "")),
            provider=str(data.get("provider", "")),
            model=str(data.get("model", "")),
            units={str(k): int(v) for k, v in (data.get("units") or {}).items()},
            outcome=str(data.get("outcome", "ok")),
            estimate=float(data.get("estimate", 0.0)),
            panel_index=data.get("panelIndex"),
            call_id=str(data.get("callId", "")),
            at=float(data.get("at", 0.0)),
        )


_calls: contextvars.ContextVar[list[PaidCall] | None] = contextvars.ContextVar(
    "panelflow_paid_calls", default=None
)


def record(call: PaidCall) -> None:
    """Reports a paid call to whoever is recording in this context (nobody: ignored)."""
    calls = _calls.get()
    if calls is not None:
        calls.append(call)


@contextlib.contextmanager
def recording() -> Iterator[list[PaidCall]]:
    """Collects the calls reported in this thread's context until the block ends."""
    calls: list[PaidCall] = []
    token = _calls.set(calls)
    try:
        yield calls
    finally:
        _calls.reset(token)


def price(call: PaidCall, prices: Mapping[str, Mapping[str, float]]) -> PaidCall:
    """The call with its estimate: only the google provider is priced; unknown models are 0."""
    if call.provider != "google":
        return replace(call, estimate=0.0)
    rates = prices.get(call.model, {})
    estimate = sum(
        rates.get(unit, 0.0) * amount / UNIT_SCALE.get(unit, 1)
        for unit, amount in call.units.items()
    )
    return replace(call, estimate=round(estimate, 6))


def summary(calls: Iterable[PaidCall]) -> dict[str, Any]:
    """``{currency, estimate, calls, byKind}`` for the API: sums per kind of call."""
    by_kind: dict[str, dict[str, Any]] = {}
    total = 0.0
    count = 0
    for call in calls:
        count += 1
        total += call.estimate
        entry = by_kind.setdefault(call.kind, {"calls": 0, "estimate": 0.0, "units": {}})
        entry["calls"] += 1
        entry["estimate"] = round(entry["estimate"] + call.estimate, 6)
        for unit, amount in call.units.items():
            entry["units"][unit] = entry["units"].get(unit, 0) + amount
    return {"currency": CURRENCY, "estimate": round(total, 6), "calls": count, "byKind": by_kind}
