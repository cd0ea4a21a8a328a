"""Orchestrator entry points: the HTTP API and the Pub/Sub-triggered plan handler.

Both deploy from this bundle as separate functions; the API's routes and request
validation (pydantic) are imported on the API's first request, so the plan function's
cold start does not pay for them.
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
from cloudevents.http import CloudEvent
from werkzeug.exceptions import HTTPException

from panelflow.bootstrap import get_services
from panelflow.entrypoints import events
from panelflow.services.planning import plan_job


@functions_framework.errorhandler(HTTPException)
def framework_error(error: HTTPException) -> Any:
    """What the framework answers before our function runs (a path its routing cannot
    match) is JSON in the API's error shape too, never an HTML page."""
    from panelflow.entrypoints import http

    return http.framework_error(error)


@functions_framework.http
def api(request: flask.Request) -> flask.Response:
    """The HTTP API: jobs, panels, translations, the account, health (docs/openapi.yaml)."""
    from panelflow.entrypoints import http

    return http.handle(get_services(), request)


@functions_framework.cloud_event
def plan(event: CloudEvent) -> None:
    """Plans one job; raising asks Pub/Sub to deliver the message again."""
    message = events.decode_or_drop(event.data, "plan message")
    if message is None:
        return
    plan_job(get_services(), message.job_id)
