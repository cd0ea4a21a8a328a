"""Exporter entry point: writes one export (PDF, CBZ or MP4) of a finished comic."""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from panelflow import logs
from panelflow.bootstrap import get_services
from panelflow.entrypoints import events
from panelflow.services.exports import run_export


@functions_framework.cloud_event
def export(event: CloudEvent) -> None:
    """Writes the export a message names; raising asks Pub/Sub to deliver it again."""
    message = events.decode_or_drop(event.data, "export message")
    if message is None:
        return
    if not message.export_id:
        logs.error("dropping export message without exportId", jobId=message.job_id)
        return
    run_export(get_services(), message.job_id, message.export_id)
