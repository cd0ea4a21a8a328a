"""A small client of the HTTP API and the local stack's environment."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from panelflow_cli.stack import read_env_file

DEFAULT_UID = "local-user"


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


@dataclass
class ApiClient:
    """Calls the API with a fresh ID token from ``token`` on every request."""

    base_url: str
    token: Callable[[], str]
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self._session = requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        response = self._session.request(
            method, f"{self.base_url}{path}", timeout=self.timeout, headers=headers, **kwargs
        )
        try:
            body = response.json()
        except ValueError:
            body = {"error": {"code": "bad_response", "message": response.text[:200]}}
        if response.status_code >= 400:
            raise ApiError(response.status_code, body)
        return dict(body)

    def start_job(self, story: str, **options: Any) -> dict[str, Any]:
        payload = {"story": story, **{k: v for k, v in options.items() if v is not None}}
        return self._call("POST", "/jobs", json=payload)

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}")

    def list_jobs(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(self._call("GET", "/jobs", params={"limit": limit})["jobs"])
