"""Routes of the HTTP API for devices and share links (``panelflow.entrypoints.http``
routes to them)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import flask

from panelflow.domain.errors import NotFound, PanelflowError
from panelflow.domain.sharing import token_hash
from panelflow.entrypoints.validation import (
    parse_device,
    parse_json_body,
    parse_share,
    valid_device_token,
)
from panelflow.ports import SharingDependencies
from panelflow.services.devices import register_device, unregister_device
from panelflow.services.shares import create_share, list_shares, revoke_share, shared_comic

Response = tuple[dict[str, Any], int, dict[str, str]]
Routes = dict[str, dict[str, Callable[[], Response]]]
UidOf = Callable[[], str]

_JOB_SHARES = re.compile(r"/jobs/([A-Za-z0-9_-]{1,64})/shares")
_JOB_SHARE = re.compile(r"/jobs/([A-Za-z0-9_-]{1,64})/shares/([^/]{1,128})")
# Anything after /shares/: whatever is wrong with a link, the answer is the same 404.
_SHARED = re.compile(r"/shares/(.+)", re.DOTALL)
_DEVICE = re.compile(r"/devices/(.+)", re.DOTALL)
# Small bodies only: {token, platform} or {ttlDays}.
_MAX_BODY_BYTES = 8 * 1024


class _PayloadTooLarge(PanelflowError):
    code = "payload_too_large"
    http_status = 413


class _UnsupportedMediaType(PanelflowError):
    code = "unsupported_media_type"
    http_status = 415


def routes_for(
    services: SharingDependencies, request: flask.Request, path: str, uid: UidOf
) -> Routes:
    """The device and share routes that match ``path`` (none when it is not one of theirs)."""
    routes: Routes = {
        "/devices": {"POST": lambda: _post_device(services, request, uid())},
    }
    if match := _DEVICE.fullmatch(path):
        token = match.group(1)
        routes[path] = {"DELETE": lambda: _delete_device(services, uid(), token)}
    if match := _JOB_SHARES.fullmatch(path):
        job_id = match.group(1)
        routes[path] = {
            "POST": lambda: _post_share(services, request, uid(), job_id),
            "GET": lambda: ({"shares": list_shares(services, uid(), job_id)}, 200, {}),
        }
    if match := _JOB_SHARE.fullmatch(path):
        job_id, token = match.groups()
        routes[path] = {"DELETE": lambda: _delete_share(services, uid(), job_id, token)}
    if match := _SHARED.fullmatch(path):
        token = match.group(1)
        # No sign-in: the link is the permission. Never cached: a revoked link stops at once.
        routes[path] = {"GET": lambda: (shared_comic(services, token), 200, {})}
    return routes


def _json_body(request: flask.Request, *, optional: bool) -> Any:
    """The request's JSON body, bounded; None when ``optional`` and there is none."""
    if request.content_length is not None and request.content_length > _MAX_BODY_BYTES:
        raise _PayloadTooLarge(f"body must be at most {_MAX_BODY_BYTES} bytes", field="body")
    raw = request.stream.read(_MAX_BODY_BYTES + 1)
    if len(raw) > _MAX_BODY_BYTES:
        raise _PayloadTooLarge(f"body must be at most {_MAX_BODY_BYTES} bytes", field="body")
    if optional and not raw.strip():
        return None
    if request.mimetype != "application/json":
        raise _UnsupportedMediaType("Content-Type must be application/json", field="Content-Type")
    return parse_json_body(raw)


def _post_device(services: SharingDependencies, request: flask.Request, uid: str) -> Response:
    token, platform = parse_device(_json_body(request, optional=False))
    if register_device(services, uid, token, platform):
        return {"id": token_hash(token), "platform": platform}, 201, {}
    return {}, 204, {}


def _delete_device(services: SharingDependencies, uid: str, token: str) -> Response:
    if not valid_device_token(token):
        raise NotFound("no such device")
    unregister_device(services, uid, token)
    return {}, 204, {}


def _post_share(
    services: SharingDependencies, request: flask.Request, uid: str, job_id: str
) -> Response:
    days = parse_share(_json_body(request, optional=True))
    share = create_share(services, uid, job_id, days)
    return share, 201, {"Location": share["url"]}


def _delete_share(services: SharingDependencies, uid: str, job_id: str, token: str) -> Response:
    revoke_share(services, uid, job_id, token)
    return {}, 204, {}
