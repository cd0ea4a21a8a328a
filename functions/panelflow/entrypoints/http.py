"""The orchestrator's HTTP API: routing, body limits, JSON errors and headers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import flask
from werkzeug.exceptions import HTTPException

from panelflow import logs
from panelflow.bootstrap import Services
from panelflow.domain.errors import NotFound, PanelflowError, QuotaExceeded, ValidationFailed
from panelflow.entrypoints import sharing_routes
from panelflow.entrypoints.validation import (
    parse_edit_panel,
    parse_export,
    parse_json_body,
    parse_start_job,
    parse_translate,
)
from panelflow.services.control import cancel_job, regenerate_panel, retry_job
from panelflow.services.deletion import delete_account, delete_job
from panelflow.services.editing import edit_panel
from panelflow.services.exports import export_view, get_export_for, request_export
from panelflow.services.jobs import get_job_for, job_view, start_job
from panelflow.services.translation import start_translation
from panelflow.settings import catalogue

# Matched with fullmatch: ``$`` would also match before a trailing newline.
_JOB_PATH = re.compile(r"/jobs/([A-Za-z0-9_-]{1,64})")
_JOB_ACTION = re.compile(r"/jobs/([A-Za-z0-9_-]{1,64}):(cancel|retry|translate)")
_PANEL_PATH = re.compile(r"/jobs/([A-Za-z0-9_-]{1,64})/panels/([0-9]{1,3})")
_PANEL_ACTION = re.compile(r"/jobs/([A-Za-z0-9_-]{1,64})/panels/([0-9]{1,3}):regenerate")
_EXPORTS = re.compile(r"/jobs/([A-Za-z0-9_-]{1,64})/exports(?:/([A-Za-z0-9_-]{1,64}))?")
# Printable ASCII, as for HTTP tokens; long enough for a UUID or a hash.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
# Answer to a CORS preflight from an allowed origin (PANELFLOW_CORS_ORIGINS).
_CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Max-Age": "600",
}

Response = tuple[dict[str, Any], int, dict[str, str]]
# The catalogue is the same for every caller and changes only with a deployment. A shared
# cache must still keep one copy per Origin: only allowed origins get the CORS headers.
_CATALOGUE_HEADERS = {"Cache-Control": "public, max-age=300", "Vary": "Origin"}


class MethodNotAllowed(PanelflowError):
    code = "method_not_allowed"
    http_status = 405

    def __init__(self, message: str, allow: list[str]) -> None:
        super().__init__(message)
        # The route's methods, for the Allow header a 405 must carry (RFC 9110, 15.5.6).
        self.allow = allow


class UnsupportedMediaType(PanelflowError):
    code = "unsupported_media_type"
    http_status = 415


class PayloadTooLarge(PanelflowError):
    code = "payload_too_large"
    http_status = 413


def handle(services: Services, request: flask.Request) -> flask.Response:
    """Routes one request and always answers JSON, whatever went wrong."""
    cors = _cors_headers(services.settings.cors_origins, request.headers.get("Origin"))
    if request.method == "OPTIONS" and cors:
        preflight = flask.make_response("", 204)
        preflight.headers.update({**_SECURITY_HEADERS, **cors, **_CORS_PREFLIGHT})
        return preflight
    try:
        body, status, headers = _route(services, request)
    except PanelflowError as error:
        body, status, headers = {"error": error.to_dict()}, error.http_status, {}
        if isinstance(error, QuotaExceeded):
            headers["Retry-After"] = str(error.retry_after)
        elif isinstance(error, MethodNotAllowed):
            headers["Allow"] = ", ".join(error.allow)
        elif error.retryable:
            headers["Retry-After"] = "1"
    except Exception as error:  # the API never leaks a stack trace or a bare 500 page
        logs.error("unhandled error", error=type(error).__name__, path=request.path)
        body = {"error": {"code": "internal", "message": "internal error; try again later"}}
        status, headers = 500, {}
    response = flask.make_response("" if status == 204 else json.dumps(body), status)
    if status != 204:
        response.headers["Content-Type"] = "application/json"
    response.headers.update(_SECURITY_HEADERS)
    response.headers.update(headers)
    response.headers.update(cors)
    return response


def framework_error(error: HTTPException) -> flask.Response:
    """What the framework answers itself (a path its routing cannot match, such as one with
    a control character in it), in our JSON error shape instead of an HTML page."""
    status = error.code or 500
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    body = {"error": {"code": codes.get(status, "invalid_argument"), "message": error.name}}
    if status >= 500:
        body = {"error": {"code": "internal", "message": "internal error; try again later"}}
    response = flask.make_response("" if status == 204 else json.dumps(body), status)
    if status != 204:
        response.headers["Content-Type"] = "application/json"
    response.headers.update(_SECURITY_HEADERS)
    return response


def _cors_headers(allowed: tuple[str, ...], origin: str | None) -> dict[str, str]:
    """CORS headers for a browser origin on the allow-list; none for any other caller."""
    if not origin or origin.lower() not in allowed:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": "Location, Retry-After",
        "Vary": "Origin",
    }


def _route(services: Services, request: flask.Request) -> Response:
    path = request.path.rstrip("/") or "/"
    routes: dict[str, dict[str, Callable[[], Response]]] = {
        "/healthz": {"GET": lambda: ({"ok": True}, 200, {})},
        "/catalogue": {
            "GET": lambda: (catalogue(services.settings), 200, dict(_CATALOGUE_HEADERS))
        },
        "/jobs": {
            "POST": lambda: _post_job(services, request),
            "GET": lambda: _list_jobs(services, request),
        },
        "/me": {"DELETE": lambda: _delete_account(services, request)},
    }
    routes.update(
        sharing_routes.routes_for(services, request, path, lambda: _uid(services, request))
    )
    match = _JOB_PATH.fullmatch(path)
    if match:
        job_id = match.group(1)
        routes[path] = {
            "GET": lambda: _get_job(services, request, job_id),
            "DELETE": lambda: _delete_job(services, request, job_id),
        }
    match = _JOB_ACTION.fullmatch(path)
    if match:
        job_id, action = match.groups()
        routes[path] = {"POST": lambda: _job_action(services, request, job_id, action)}
    match = _PANEL_PATH.fullmatch(path)
    if match:
        job_id, index = match.group(1), int(match.group(2))
        routes[path] = {"PATCH": lambda: _edit_panel(services, request, job_id, index)}
    match = _PANEL_ACTION.fullmatch(path)
    if match:
        job_id, index = match.group(1), int(match.group(2))
        routes[path] = {"POST": lambda: _regenerate(services, request, job_id, index)}
    match = _EXPORTS.fullmatch(path)
    if match:
        job_id, export_id = match.groups()
        routes[path] = (
            {"GET": lambda: _get_export(services, request, job_id, export_id)}
            if export_id
            else {"POST": lambda: _post_export(services, request, job_id)}
        )
    handlers = routes.get(path)
    if handlers is None:
        raise NotFound(f"no route {path}")
    handler = handlers.get(request.method)
    if handler is None:
        raise MethodNotAllowed(f"{request.method} is not allowed on {path}", sorted(handlers))
    return handler()


def _uid(services: Services, request: flask.Request) -> str:
    return str(services.authenticator.uid(request.headers.get("Authorization")))


def _links(request: flask.Request, job_id: str) -> dict[str, str]:
    return {"self": f"{request.script_root}/jobs/{job_id}"}


def _json_body(services: Services, request: flask.Request) -> Any:
    """The request's JSON body, within the size limit and of the right media type."""
    limit = services.settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body must be at most {limit} bytes", field="body")
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json", field="Content-Type")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"body must be at most {limit} bytes", field="body")
    return parse_json_body(raw)


def _post_job(services: Services, request: flask.Request) -> Response:
    uid = _uid(services, request)
    job_request = parse_start_job(_json_body(services, request), services.settings)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationFailed(
            [{"field": "Idempotency-Key", "reason": "must be 1-255 printable ASCII characters"}]
        )
    job = start_job(services, uid, job_request, key)
    links = _links(request, job.job_id)
    body = {"jobId": job.job_id, "status": job.status.value, "links": links}
    return body, 202, {"Location": links["self"]}


def _post_export(services: Services, request: flask.Request, job_id: str) -> Response:
    uid = _uid(services, request)
    export_request = parse_export(_json_body(services, request), services.settings)
    export = request_export(services, uid, job_id, export_request)
    location = f"{request.script_root}/jobs/{job_id}/exports/{export.export_id}"
    return export_view(services, export), 202, {"Location": location}


def _get_export(
    services: Services, request: flask.Request, job_id: str, export_id: str
) -> Response:
    return get_export_for(services, _uid(services, request), job_id, export_id), 200, {}


def _job_action(services: Services, request: flask.Request, job_id: str, action: str) -> Response:
    uid = _uid(services, request)
    if action == "translate":
        language = parse_translate(_json_body(services, request), services.settings)
        translated = start_translation(services, uid, job_id, language)
        links = _links(request, translated.job_id)
        body = {"jobId": translated.job_id, "status": translated.status.value, "links": links}
        return body, 202, {"Location": links["self"]}
    job = (cancel_job if action == "cancel" else retry_job)(services, uid, job_id)
    return job_view(services, job), 200, {}


def _edit_panel(services: Services, request: flask.Request, job_id: str, index: int) -> Response:
    uid = _uid(services, request)
    edit = parse_edit_panel(_json_body(services, request))
    return edit_panel(services, uid, job_id, index, edit), 202, {}


def _regenerate(services: Services, request: flask.Request, job_id: str, index: int) -> Response:
    job = regenerate_panel(services, _uid(services, request), job_id, index)
    return job_view(services, job), 202, {}


def _get_job(services: Services, request: flask.Request, job_id: str) -> Response:
    job = get_job_for(services, _uid(services, request), job_id)
    return job_view(services, job), 200, {}


def _delete_job(services: Services, request: flask.Request, job_id: str) -> Response:
    delete_job(services, _uid(services, request), job_id)
    return {}, 204, {}


def _delete_account(services: Services, request: flask.Request) -> Response:
    delete_account(services, _uid(services, request))
    return {}, 204, {}


def _list_jobs(services: Services, request: flask.Request) -> Response:
    uid = _uid(services, request)
    try:
        limit = min(max(int(request.args.get("limit", "20")), 1), 100)
    except ValueError:
        raise ValidationFailed([{"field": "limit", "reason": "must be an integer"}]) from None
    jobs = services.store.list_jobs(uid, limit)
    return {"jobs": [job.to_dict() for job in jobs]}, 200, {}
