"""CORS on the HTTP API: the web client calls it from another origin (PANELFLOW_CORS_ORIGINS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from functions_framework import create_app

from fakes.auth import fake_token
from panelflow.bootstrap import Services
from panelflow.domain.errors import ConfigurationError
from panelflow.settings import Settings

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
WEB = "http://127.0.0.1:8080"
AUTH = {"Authorization": f"Bearer {fake_token('user-1')}"}
PREFLIGHT = {
    "Origin": WEB,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "demo-unit",
            "PANELFLOW_CORS_ORIGINS": f"{WEB}, http://localhost:8080",
        }
    )


@pytest.fixture
def client(services: Services):
    return create_app("api", str(SOURCE), "http").test_client()


def _post(client, body, origin=WEB, headers=AUTH):
    return client.post(
        "/jobs",
        data=json.dumps(body),
        content_type="application/json",
        headers={**headers, "Origin": origin},
    )


@pytest.mark.parametrize("path", ["/jobs", "/jobs/abc123", "/healthz"])
def test_preflight_from_an_allowed_origin_answers_204(client, services: Services, path) -> None:
    response = client.options(path, headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == WEB
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, PATCH, DELETE, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == (
        "Authorization, Content-Type, Idempotency-Key"
    )
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in response.headers
    # A preflight carries no credentials and changes nothing.
    assert services.store.list_jobs("user-1", 10) == []


def test_every_listed_origin_is_echoed_back(client) -> None:
    response = client.options("/jobs", headers={**PREFLIGHT, "Origin": "http://localhost:8080"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"


def test_post_from_an_allowed_origin_is_readable_by_the_page(client) -> None:
    response = _post(client, {"story": "Ada met Bo.", "panels": 2})
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == WEB
    assert response.headers["Vary"] == "Origin"
    # The page may read the Location header of the new job.
    assert "Location" in response.headers["Access-Control-Expose-Headers"]
    # The API's own headers stay.
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"story": "   ", "panels": 30}, AUTH, 400),
        ({"story": "ok"}, {}, 401),
    ],
)
def test_errors_carry_cors_headers_so_the_page_can_show_them(client, body, headers, status) -> None:
    response = _post(client, body, headers=headers)
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == WEB
    assert response.get_json()["error"]["code"]


def test_get_from_an_allowed_origin_has_cors_headers(client) -> None:
    response = client.get("/jobs", headers={**AUTH, "Origin": WEB})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == WEB


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:8081", "https://127.0.0.1:8080", "http://evil.example", "null", ""],
)
def test_other_origins_get_no_cors_headers(client, services: Services, origin) -> None:
    headers = {**PREFLIGHT, "Origin": origin}
    preflight = client.options("/jobs", headers=headers)
    assert preflight.status_code == 405
    assert preflight.get_json()["error"]["code"] == "method_not_allowed"
    assert "Access-Control-Allow-Origin" not in preflight.headers
    created = _post(client, {"story": "Ada met Bo."}, origin=origin)
    # The request itself is served (CORS is enforced by the browser), but the page may not read it.
    assert created.status_code == 202
    assert "Access-Control-Allow-Origin" not in created.headers
    assert "Vary" not in created.headers


def test_requests_without_an_origin_are_unchanged(client) -> None:
    response = client.post(
        "/jobs", data=json.dumps({"story": "Ada."}), content_type="application/json", headers=AUTH
    )
    assert response.status_code == 202
    assert not [name for name, _ in response.headers.items() if name.startswith("Access-Control-")]


def test_cors_is_off_unless_configured() -> None:
    assert Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p"}).cors_origins == ()


def test_cors_origins_are_parsed_and_normalised() -> None:
    settings = Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "PANELFLOW_CORS_ORIGINS": " https://App.Example.com ,http://127.0.0.1:5173,, ",
        }
    )
    assert settings.cors_origins == ("https://app.example.com", "http://127.0.0.1:5173")


@pytest.mark.parametrize(
    "value",
    ["*", "app.example.com", "ftp://app.example.com", "https://app.example.com/", "http://h:99999"],
)
def test_invalid_cors_origins_stop_start_up_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p", "PANELFLOW_CORS_ORIGINS": value})
    assert caught.value.field == "PANELFLOW_CORS_ORIGINS"
    assert "PANELFLOW_CORS_ORIGINS" in str(caught.value)


def test_without_the_setting_no_origin_is_allowed(
    client, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "settings", Settings.from_env({"GOOGLE_CLOUD_PROJECT": "u"}))
    preflight = client.options("/jobs", headers=PREFLIGHT)
    assert preflight.status_code == 405
    assert "Access-Control-Allow-Origin" not in preflight.headers
    created = _post(client, {"story": "Ada met Bo."})
    assert created.status_code == 202
    assert "Access-Control-Allow-Origin" not in created.headers
