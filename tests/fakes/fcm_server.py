"""A local fake of the FCM HTTP v1 API: ``POST /v1/projects/{project}/messages:send``.

It runs on 127.0.0.1 in a background thread and checks each request as the service does:
a bearer token, a JSON ``{"message": {...}}`` with exactly one target (``token``), string
``notification.title`` / ``notification.body``, ``data`` of strings only and without
reserved keys, and at most 4096 bytes of payload. A good request to a registered token is
answered ``200 {"name": "projects/{project}/messages/{id}"}`` and recorded in ``messages``.

Errors have the service's shape, ``{"error": {"code", "message", "status", "details":
[{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode"}]}}``:
a token in ``unregistered`` gets 404 NOT_FOUND / UNREGISTERED, a malformed request 400
INVALID_ARGUMENT, and ``script`` queues replies answered first, in order: 500 INTERNAL,
503 UNAVAILABLE, 429 QUOTA_EXCEEDED with ``Retry-After``, or a delay longer than the
client's timeout.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_TARGETS = ("token", "topic", "condition")
_RESERVED_DATA = re.compile(r"^(from|notification|message_type|google.*|gcm.*)$")
MAX_PAYLOAD_BYTES = 4096


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def error_reply(status: int, status_name: str, error_code: str, message: str = "") -> Reply:
    return Reply(
        status,
        {
            "error": {
                "code": status,
                "message": message or error_code,
                "status": status_name,
                "details": [{"@type": _FCM_ERROR, "errorCode": error_code}],
            }
        },
    )


def unavailable() -> Reply:
    return error_reply(503, "UNAVAILABLE", "UNAVAILABLE", "The server is overloaded.")


def internal() -> Reply:
    return error_reply(500, "INTERNAL", "INTERNAL", "Internal error encountered.")


def quota_exceeded(retry_after: int) -> Reply:
    reply = error_reply(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded.")
    return Reply(reply.status, reply.body, {"Retry-After": str(retry_after)})


def slow(seconds: float) -> Reply:
    """An answer that arrives after ``seconds`` (longer than the client waits); the message
    is not recorded as accepted."""
    return Reply(200, {"name": "projects/late/messages/0"}, delay=seconds)


@dataclass
class Received:
    project: str
    authorization: str
    body: dict[str, Any]
    # When the request arrived, seconds since the epoch.
    at: float = field(default_factory=time.time)

    @property
    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = self.body["message"]
        return message


class FakeFcm:
    def __init__(self) -> None:
        self.unregistered: set[str] = set()
        # Accepted messages, and every request received (retries and refusals included).
        self.messages: list[Received] = []
        self.requests: list[Received] = []
        self._script: deque[Reply] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def start(self) -> FakeFcm:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeFcm:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        reply = self._answer(handler.path, handler.headers.get("Authorization", ""), raw)
        if reply.delay:
            time.sleep(reply.delay)
        try:
            payload = json.dumps(reply.body).encode()
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json; charset=UTF-8")
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout drill)

    def _answer(self, path: str, authorization: str, raw: bytes) -> Reply:
        match = _PATH.match(path)
        if not match:
            return error_reply(404, "NOT_FOUND", "UNSPECIFIED_ERROR", f"no such method {path}")
        if not authorization.startswith("Bearer ") or len(authorization) <= len("Bearer "):
            return error_reply(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "no credentials")
        try:
            body = json.loads(raw)
        except ValueError:
            return _invalid("invalid JSON")
        received = Received(match["project"], authorization, body)
        with self._lock:
            self.requests.append(received)
            if self._script:
                return self._script.popleft()
        refusal = _refusal(body) or self._unregistered(body)
        if refusal is not None:
            return refusal
        with self._lock:
            self.messages.append(received)
            name = f"projects/{match['project']}/messages/0:{next(self._ids)}"
        return Reply(200, {"name": name})

    def _unregistered(self, body: dict[str, Any]) -> Reply | None:
        if body["message"]["token"] in self.unregistered:
            return error_reply(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
        return None


def _invalid(message: str) -> Reply:
    return error_reply(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", message)


def _refusal(body: Any) -> Reply | None:
    """INVALID_ARGUMENT for what the service refuses, naming the field; None when valid."""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        return _invalid("Invalid JSON payload: 'message' is required")
    targets = [target for target in _TARGETS if target in message]
    if targets != ["token"] or not isinstance(message["token"], str) or not message["token"]:
        return _invalid("exactly one of token, topic or condition is required (token here)")
    notification = message.get("notification", {})
    data = message.get("data", {})
    problem = _notification_problem(notification) or _data_problem(data)
    if problem:
        return _invalid(problem)
    size = len(json.dumps({"notification": notification, "data": data}).encode())
    return _invalid("Message is too big") if size > MAX_PAYLOAD_BYTES else None


def _notification_problem(notification: dict[str, Any]) -> str:
    for key, value in notification.items():
        if key not in ("title", "body", "image") or not isinstance(value, str):
            return f"Invalid value at 'message.notification.{key}'"
    return ""


def _data_problem(data: dict[str, Any]) -> str:
    for key, value in data.items():
        if not isinstance(value, str):
            return f"Invalid value at 'message.data[{key}].value' (TYPE_STRING)"
        if _RESERVED_DATA.match(key):
            return f"Invalid data payload key: {key}"
    return ""
