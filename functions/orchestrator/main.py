"""Orchestrator entry points: the HTTP API and the Pub/Sub-triggered plan handler."""

from __future__ import annotations

import flask
import functions_framework
from cloudevents.http import CloudEvent

from panelflow.bootstrap import get_services
from panelflow.entrypoints import events, http
from panelflow.services.planning import plan_job

# What the framework answers before our function runs (a path its routing cannot match) is
# JSON in the API's error shape too, never an HTML page.
http.answer_framework_errors(functions_framework.errorhandler)


@functions_framework.http
def api(request: flask.Request) -> flask.Response:
    """The HTTP API: jobs, panels, translations, the account, health (docs/openapi.yaml)."""
    return http.handle(get_services(), request)


@functions_framework.cloud_event
def plan(event: CloudEvent) -> None:
    """Plans one job; raising asks Pub/Sub to deliver the message again."""
    message = events.decode_or_drop(event.data, "plan message")
    if message is None:
        return
    plan_job(get_services(), message.job_id)
