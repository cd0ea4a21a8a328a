"""A small client of the HTTP API and the local stack's environment."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from panelflow_cli.credentials import Target
from panelflow_cli.stack import read_env_file

# The longest Retry-After the CLI waits out before its one retry; longer waits are reported.
MAX_RETRY_AFTER_S = 30.0


class ApiUnreachable(RuntimeError):
    """No answer from the API (connection refused, reset, timed out)."""


class ApiError(RuntimeError):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"{status} {error.get('code', '')}: {error.get('message', body)}")
        self.status = status
        self.body = body


def state_dir() -> Path:
    return Path(os.environ.get("PANELFLOW_STATE_DIR", ".panelflow"))


def load_stack_env(directory: Path | None = None) -> dict[str, str]:
    """Reads local.env and exports it, so SDK clients in this process find the emulators."""
    path = (directory or state_dir()) / "local.env"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: start the stack with 'panelflow up'")
    env = read_env_file(path)
    os.environ.update(env)
    return env


class TargetError(RuntimeError):
    """No API to talk to, or not enough to sign in to it."""


def resolve_target(
    api_url: str | None = None, api_key: str | None = None, project: str | None = None
) -> Target:
    """The API the commands talk to: the running local stack unless another URL is named.

    A deployed API needs the web app's API key, for Firebase Auth; its project, when not
    named, is read from the sign-in.
    """
    local_env = state_dir() / "local.env"
    if local_env.exists():
        local = read_env_file(local_env)
        if not api_url or api_url.rstrip("/") == local["PANELFLOW_API_URL"].rstrip("/"):
            os.environ.update(local)
            return Target(
                api_url=local["PANELFLOW_API_URL"].rstrip("/"),
                project=local["GOOGLE_CLOUD_PROJECT"],
                emulator_host=local["FIREBASE_AUTH_EMULATOR_HOST"],
            )
    if not api_url:
        raise TargetError(
            f"no local stack is running ({local_env} not found: start one with 'panelflow up') "
            "and no API was named (--api-url or PANELFLOW_API_URL)"
        )
    if not api_key:
        raise TargetError(
            f"signing in to {api_url} needs the web app's API key: give --api-key or "
            "PANELFLOW_WEB_API_KEY"
        )
    return Target(api_url=api_url.rstrip("/"), project=project or "", api_key=api_key)


@dataclass
class ApiClient:
    """Calls the API with a fresh ID token from ``token`` on every request.

    A request that could not reach the API, or was answered 503, or 429 with a Retry-After
    of at most ``MAX_RETRY_AFTER_S``, is sent once more: GETs always, a POST only when it
    carries an Idempotency-Key, so a retried create can never make a second job.
    """

    base_url: str
    token: Callable[[], str]
    timeout: float = 30.0
    http: requests.Session | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._session = self.http or requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        extra_headers = kwargs.pop("headers", {})
        may_retry = method == "GET" or "Idempotency-Key" in extra_headers
        for attempt in (1, 2):
            last = attempt == 2 or not may_retry
            headers = {"Authorization": f"Bearer {self.token()}", **extra_headers}
            try:
                response = self._session.request(
                    method,
                    f"{self.base_url}{path}",
                    timeout=self.timeout,
                    headers=headers,
                    **kwargs,
                )
            except requests.RequestException as error:
                if last:
                    raise ApiUnreachable(
                        f"could not reach the API at {self.base_url} ({type(error).__name__})"
                    ) from error
                self.sleep(1.0)
                continue
            delay = _retry_delay(response)
            if delay is None or last:
                return _body(response)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def start_job(
        self, story: str, *, idempotency_key: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Creates a job; ``idempotency_key`` (a fresh UUID if None) makes a retry safe."""
        payload = {"story": story, **{k: v for k, v in options.items() if v is not None}}
        key = idempotency_key or str(uuid.uuid4())
        return self._call("POST", "/jobs", json=payload, headers={"Idempotency-Key": key})

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}")

    def delete_job(self, job_id: str) -> None:
        """Deletes the job and everything stored for it (a running one is cancelled first)."""
        self._call("DELETE", f"/jobs/{job_id}")

    def delete_account(self) -> None:
        """Deletes every job of the caller, their records and their sign-in account."""
        self._call("DELETE", "/me")

    def edit_panel(self, job_id: str, index: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Edits panel ``index`` (from 0); the answer says what is redone (``redo``)."""
        return self._call("PATCH", f"/jobs/{job_id}/panels/{index}", json=changes)

    def translate(self, job_id: str, language: str) -> dict[str, Any]:
        """Starts a translated copy of a completed comic; returns the new job's id."""
        return self._call("POST", f"/jobs/{job_id}:translate", json={"language": language})

    def list_jobs(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(self._call("GET", "/jobs", params={"limit": limit})["jobs"])


def _retry_delay(response: requests.Response) -> float | None:
    """Seconds to wait before one more try, or None when the answer is final."""
    if response.status_code not in (429, 503):
        return None
    raw = response.headers.get("Retry-After", "")
    seconds = float(raw) if raw.strip().isdigit() else None
    if seconds is None:
        # 503 without a usable Retry-After is worth one quick retry; a bare 429 is not.
        return 1.0 if response.status_code == 503 else None
    return seconds if seconds <= MAX_RETRY_AFTER_S else None


def _body(response: requests.Response) -> dict[str, Any]:
    if response.status_code == 204:
        return {}
    try:
        body = response.json()
    except ValueError:
        body = {"error": {"code": "bad_response", "message": response.text[:200]}}
    if response.status_code >= 400:
        raise ApiError(response.status_code, body if isinstance(body, dict) else {})
    return dict(body)
