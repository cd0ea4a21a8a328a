"""Work messages as the queue adapter writes them and the functions read them back."""

from __future__ import annotations

import base64
import json

import pytest

from panelflow.adapters.pubsub_queue import encode
from panelflow.entrypoints.events import BadMessage, decode


def _pushed(data: bytes, attempt: int = 2) -> dict[str, object]:
    """The body a push subscription (or the local relay) hands the function."""
    message = {"data": base64.b64encode(data).decode(), "messageId": "m-1"}
    return {"message": message, "deliveryAttempt": attempt}


def test_a_panel_message_round_trips_with_the_plans_version() -> None:
    message = decode(_pushed(encode("job-1", 3, planned="2026-11-30T12:00:00.123456789Z")))
    assert (message.job_id, message.panel_index, message.delivery_attempt) == ("job-1", 3, 2)
    assert message.planned == "2026-11-30T12:00:00.123456789Z"
    assert message.message_id == "m-1" and message.export_id is None


def test_messages_without_a_version_carry_ids_only() -> None:
    assert json.loads(encode("job-1", 0)) == {"jobId": "job-1", "panelIndex": 0}
    assert decode(_pushed(encode("job-1", 0))).planned is None


@pytest.mark.parametrize("planned", [5, "", ["x"]])
def test_a_malformed_version_is_an_unreadable_message(planned: object) -> None:
    body = json.dumps({"jobId": "job-1", "panelIndex": 0, "planned": planned}).encode()
    with pytest.raises(BadMessage, match="planned"):
        decode(_pushed(body))
