"""Panel worker entry points: render one panel; fail what was dead-lettered; notify the
owner of a finished job."""

from __future__ import annotations

import flask
import functions_framework
from cloudevents.http import CloudEvent

from panelflow import logs
from panelflow.bootstrap import get_services
from panelflow.entrypoints import events
from panelflow.services.dead_letters import handle_dead_letter
from panelflow.services.notifications import notify_job_finished
from panelflow.services.rendering import render_panel as render
from panelflow.services.sweeper import sweep as run_sweep


@functions_framework.cloud_event
def render_panel(event: CloudEvent) -> None:
    """Renders one panel; raising asks Pub/Sub to deliver the message again."""
    message = events.decode_or_drop(event.data, "panel message")
    if message is None:
        return
    if message.panel_index is None:
        logs.error("dropping panel message without panelIndex", jobId=message.job_id)
        return
    # Attempts are counted on the panel (each claim), not taken from the delivery: the
    # CloudEvent that a push subscription becomes carries no deliveryAttempt.
    render(get_services(), message.job_id, message.panel_index, message.planned)


@functions_framework.http
def sweep(request: flask.Request) -> tuple[dict[str, int], int]:
    """Cloud Scheduler calls this every minute; see panelflow.services.sweeper."""
    return run_sweep(get_services()), 200


@functions_framework.cloud_event
def dead_letter(event: CloudEvent) -> None:
    """Marks whatever a dead-lettered message was for as failed, with a reason."""
    message = events.decode_or_drop(event.data, "dead letter")
    if message is None:
        return
    handle_dead_letter(get_services(), message.job_id, message.panel_index)


@functions_framework.cloud_event
def notify(event: CloudEvent) -> None:
    """Pushes the finished job's notification to its owner's devices, once per device
    however often the message is delivered; raising (the store down) asks for it again."""
    message = events.decode_or_drop(event.data, "notify message")
    if message is None:
        return
    notify_job_finished(get_services(), message.job_id)
