"""The cost ledger's store methods, held to one contract on the fake and on Firestore."""

from __future__ import annotations

import uuid

import pytest

from panelflow.domain.costs import PaidCall

pytestmark = pytest.mark.emulators


def test_calls_are_listed_oldest_first_and_each_call_id_once(store) -> None:
    job_id = uuid.uuid4().hex
    plan = PaidCall("plan", "google", "gemini-3.5-flash", {"inputTokens": 10}, at=1.0)
    image = PaidCall(
        "image", "google", "gemini-3.1-flash-image", {"images": 1}, panel_index=0, at=2.0
    )
    store.record_costs(job_id, [image, plan])
    store.record_costs(job_id, [image])  # a repeated write of the same call
    store.record_costs(job_id, [])
    assert store.list_costs(job_id) == [plan, image]
    assert store.list_costs(uuid.uuid4().hex) == []
