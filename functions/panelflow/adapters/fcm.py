"""FcmPushSender: one notification per request through the FCM HTTP v1 API.

``POST {endpoint}/v1/projects/{project}/messages:send`` with ``{"message": {...}}`` and an
OAuth 2 bearer token from Application Default Credentials (scope ``firebase.messaging``);
the answer is ``{"name": "projects/{project}/messages/{id}"}``. Errors come as
``{"error": {"code", "message", "status", "details": [{"@type": ".../FcmError",
"errorCode"}]}}``:

    404 NOT_FOUND / UNREGISTERED      the token is gone: UnregisteredDevice (forget it)
    400 INVALID_ARGUMENT              refused: ProviderError (not retried)
    429 QUOTA_EXCEEDED (Retry-After)  retried, waiting at least what Retry-After says
    500 INTERNAL, 503 UNAVAILABLE     retried with exponential backoff
    timeouts, refused connections     retried likewise

Retries stop when the next wait would pass ``retry_budget_s``; the last error is raised.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from panelflow.domain.errors import ProviderError, TransientError, UnregisteredDevice
from panelflow.ports import PushMessage
from panelflow.settings.parsers import is_loopback

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
DEFAULT_ENDPOINT = "https://fcm.googleapis.com"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class FcmPushSender:
    def __init__(  # noqa: PLR0913 - the wire, the credentials and the retry policy
        self,
        project_id: str,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        credentials: Any | None = None,
        session: requests.Session | None = None,
        timeout_s: float = 10.0,
        retry_budget_s: float = 30.0,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = f"{endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"
        host = urlsplit(endpoint).hostname or ""
        # A local fake on loopback takes any bearer token; anything else gets ADC's.
        self._local = urlsplit(endpoint).scheme == "http" and is_loopback(host)
        self._credentials = credentials
        self._session = session or requests.Session()
        self._timeout_s = timeout_s
        self._budget_s = retry_budget_s
        self._initial_s, self._max_s = initial_backoff_s, max_backoff_s
        self._sleep = sleep
        # Requests sent, retries included (tests and logs read it).
        self.requests = 0

    def send(self, message: PushMessage) -> str:
        spent, backoff = 0.0, self._initial_s
        while True:
            try:
                return self._send_once(message)
            except TransientError as error:
                wait = max(backoff * random.uniform(0.5, 1.0), error.retry_after or 0.0)
                if spent + wait > self._budget_s:
                    raise
                self._sleep(wait)
                spent += wait
                backoff = min(backoff * 2, self._max_s)

    def _send_once(self, message: PushMessage) -> str:
        body: dict[str, Any] = {
            "message": {
                "token": message.token,
                "notification": {"title": message.title, "body": message.body},
                "data": dict(message.data),
            }
        }
        self.requests += 1
        try:
            response = self._session.post(
                self._url, json=body, headers=self._headers(), timeout=self._timeout_s
            )
        except (requests.Timeout, requests.ConnectionError) as error:
            raise TransientError("FCM did not answer in time, try again") from error
        if response.status_code == 200:
            return str(response.json().get("name", ""))
        raise _error(response)

    def _headers(self) -> dict[str, str]:
        if self._local:
            return {"Authorization": "Bearer local-fake"}
        if self._credentials is None:
            import google.auth
            from google.auth.exceptions import DefaultCredentialsError

            try:
                self._credentials, _ = google.auth.default(scopes=[SCOPE])
            except DefaultCredentialsError as error:
                # No credentials will appear by retrying: give this message up (logged).
                raise ProviderError("no Application Default Credentials for FCM") from error
        if not self._credentials.valid:
            from google.auth.transport.requests import Request

            try:
                self._credentials.refresh(Request())
            except Exception as error:
                raise TransientError("could not get an access token for FCM") from error
        return {"Authorization": f"Bearer {self._credentials.token}"}


def _error(response: requests.Response) -> Exception:
    """The domain error for one FCM error response (see the module's table)."""
    status, code = response.status_code, _error_code(response)
    text = f"FCM answered {status} {code}".strip()
    if status == 404 or code == "UNREGISTERED":
        return UnregisteredDevice(text)
    if status in RETRYABLE_STATUSES:
        return TransientError(text, retry_after=_retry_after(response))
    return ProviderError(text)


def _error_code(response: requests.Response) -> str:
    """FcmError's errorCode when present, else the error's status."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return ""
    for detail in error.get("details") or []:
        if str(detail.get("@type", "")).endswith("google.firebase.fcm.v1.FcmError"):
            return str(detail.get("errorCode", ""))
    return str(error.get("status", ""))


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None
