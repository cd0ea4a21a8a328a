"""Pub/Sub CloudEvents: decode the ids a message carries."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from panelflow import logs


class BadMessage(ValueError):
    """A message that can never be processed: acknowledge it and log, never retry."""


@dataclass(frozen=True)
class WorkMessage:
    job_id: str
    panel_index: int | None
    delivery_attempt: int
    message_id: str
    # Export messages name the export (panelflow.services.exports).
    export_id: str | None = None
    # A fresh plan's panel messages carry its version (JobStore.save_plan).
    planned: str | None = None


def decode_or_drop(data: Any, kind: str) -> WorkMessage | None:
    """``decode``, or None once it has logged why the ``kind`` is dropped (never retried)."""
    try:
        return decode(data)
    except BadMessage as error:
        logs.error(f"dropping unreadable {kind}", reason=str(error))
        return None


def decode(data: Any) -> WorkMessage:
    """Reads a Pub/Sub push body (as a CloudEvent's data) into ids."""
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        raise BadMessage("not a Pub/Sub message")
    message = data["message"]
    try:
        body = json.loads(base64.b64decode(message.get("data") or b""))
    except ValueError as error:
        raise BadMessage("message data is not base64 JSON") from error
    job_id = body.get("jobId") if isinstance(body, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise BadMessage("message has no jobId")
    index = body.get("panelIndex")
    if index is not None and (not isinstance(index, int) or index < 0):
        raise BadMessage("panelIndex must be a non-negative integer")
    export_id = body.get("exportId")
    if export_id is not None and (not isinstance(export_id, str) or not export_id):
        raise BadMessage("exportId must be a non-empty string")
    planned = body.get("planned")
    if planned is not None and (not isinstance(planned, str) or not planned):
        raise BadMessage("planned must be a non-empty string")
    attempt = data.get("deliveryAttempt") or message.get("deliveryAttempt") or 1
    return WorkMessage(
        job_id=job_id,
        panel_index=index,
        delivery_attempt=int(attempt),
        message_id=str(message.get("messageId") or message.get("message_id") or ""),
        export_id=export_id,
        planned=planned,
    )
