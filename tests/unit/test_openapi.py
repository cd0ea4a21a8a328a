"""docs/openapi.yaml against the implementation: the same routes and methods, and real
answers (every documented status) that validate against the documented schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
from functions_framework import create_app

import openapi_spec
from fakes.auth import fake_token
from panelflow.bootstrap import Services
from panelflow.domain.errors import TransientError
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.settings import Settings

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": f"Bearer {fake_token('spec-user')}"}
OTHER = {"Authorization": f"Bearer {fake_token('spec-other')}"}


@pytest.fixture
def client(services: Services):
    return create_app("api", str(SOURCE), "http").test_client()


def _concrete(template: str, job_id: str) -> str:
    return template.replace("{jobId}", job_id).replace("{index}", "0")


def _job(client, services: Services, panels: int = 2) -> str:
    job_id = client.post("/jobs", json={"story": "Ada met Bo.", "panels": panels}, headers=AUTH)
    job_id = job_id.get_json()["jobId"]
    plan_job(services, job_id)
    render_panel(services, job_id, 0)
    return job_id


def test_the_spec_is_openapi_3_1_with_bearer_security() -> None:
    spec = openapi_spec.spec()
    assert spec["openapi"] == "3.1.0"
    scheme = spec["components"]["securitySchemes"]["firebaseIdToken"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert spec["security"] == [{"firebaseIdToken": []}]
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    # Every schema a response names exists, and every pointer resolves.
    for template, method in openapi_spec.operations():
        operation = spec["paths"][template][method.lower()]
        for status in operation["responses"]:
            response = openapi_spec.response_spec(template, method, int(status))
            if int(status) == 204:
                assert "content" not in response
                continue
            schema = response["content"]["application/json"]["schema"]
            openapi_spec.validator(schema["$ref"]).iter_errors({})  # resolves or raises


def test_the_spec_lists_exactly_the_routes_the_function_serves(client, services) -> None:
    assert sorted(openapi_spec.operations()) == sorted(
        [
            ("/healthz", "GET"),
            ("/catalogue", "GET"),
            ("/jobs", "POST"),
            ("/jobs", "GET"),
            ("/jobs/{jobId}", "GET"),
            ("/jobs/{jobId}:cancel", "POST"),
            ("/jobs/{jobId}:retry", "POST"),
            ("/jobs/{jobId}:translate", "POST"),
            ("/jobs/{jobId}/panels/{index}", "PATCH"),
            ("/jobs/{jobId}/panels/{index}:regenerate", "POST"),
            ("/jobs/{jobId}", "DELETE"),
            ("/me", "DELETE"),
        ]
    )
    job_id = _job(client, services)
    documented = set(openapi_spec.operations())
    for template in openapi_spec.spec()["paths"]:
        path = _concrete(template, job_id)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            response = client.open(path, method=method, headers=AUTH, json={"story": "x"})
            if response.status_code == 204:  # a deletion: documented, and answered with no body
                assert (template, method) in documented and response.data == b""
                continue
            body = response.get_json()
            assert body is not None, (method, path, response.status_code, response.data[:200])
            if (template, method) in documented:
                assert response.status_code != 405, (method, path)
                assert response.status_code < 400 or not body["error"]["message"].startswith(
                    "no route"
                )
                assert not openapi_spec.body_errors(template, method, response.status_code, body)
            else:
                assert response.status_code == 405, (method, path, body)
    # And nothing outside the spec is served.
    for path in ("/", "/jobs/a/b", "/jobs/x:delete", "/jobs/x/panels/1000:regenerate", "/admin"):
        response = client.get(path, headers=AUTH)
        assert response.status_code == 404 and openapi_spec.route_of(path) is None


def _check(template: str, method: str, response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    body = response.get_json()
    assert openapi_spec.body_errors(template, method, status, body) == [], body
    documented = openapi_spec.response_spec(template, method, status)
    for header in documented.get("headers", {}):
        assert header in response.headers, (template, status, header)
    return body


def test_real_answers_validate_against_the_spec(client, services: Services, monkeypatch) -> None:
    _check("/healthz", "GET", client.get("/healthz"), 200)
    _check("/catalogue", "GET", client.get("/catalogue"), 200)
    created = client.post("/jobs", json={"story": "Ada met Bo.", "panels": 2}, headers=AUTH)
    job_id = _check("/jobs", "POST", created, 202)["jobId"]
    plan_job(services, job_id)
    render_panel(services, job_id, 0)
    _check("/jobs", "GET", client.get("/jobs?limit=5", headers=AUTH), 200)
    view = _check("/jobs/{jobId}", "GET", client.get(f"/jobs/{job_id}", headers=AUTH), 200)
    assert view["panels"][0]["image"]["url"] and view["panels"][0]["image"]["expiresAt"]
    regenerate = f"/jobs/{job_id}/panels/1:regenerate"
    _check(
        "/jobs/{jobId}/panels/{index}:regenerate",
        "POST",
        client.post(regenerate, headers=AUTH),
        202,
    )
    cancel = client.post(f"/jobs/{job_id}:cancel", headers=AUTH)
    _check("/jobs/{jobId}:cancel", "POST", cancel, 200)
    _check("/jobs/{jobId}:retry", "POST", client.post(f"/jobs/{job_id}:retry", headers=AUTH), 200)

    # 400, 401, 404, 409, 413, 415
    _check("/jobs", "POST", client.post("/jobs", json={"story": ""}, headers=AUTH), 400)
    _check("/jobs", "GET", client.get("/jobs?limit=many", headers=AUTH), 400)
    _check("/jobs", "POST", client.post("/jobs", json={"story": "x"}), 401)
    _check("/jobs/{jobId}", "GET", client.get(f"/jobs/{job_id}", headers=OTHER), 404)
    _check("/jobs/{jobId}:retry", "POST", client.post(f"/jobs/{job_id}:retry", headers=AUTH), 409)
    _check(
        "/jobs/{jobId}/panels/{index}:regenerate",
        "POST",
        client.post(f"/jobs/{job_id}/panels/9:regenerate", headers=AUTH),
        404,
    )
    key = {**AUTH, "Idempotency-Key": "k-1"}
    client.post("/jobs", json={"story": "One."}, headers=key)
    _check("/jobs", "POST", client.post("/jobs", json={"story": "Two."}, headers=key), 409)
    big = client.post("/jobs", data="x" * 70_000, content_type="application/json", headers=AUTH)
    _check("/jobs", "POST", big, 413)
    plain = client.post("/jobs", data="story", content_type="text/plain", headers=AUTH)
    _check("/jobs", "POST", plain, 415)

    # A panel is edited once its job has ended: 409 while it runs, 202 after.
    edited_id = _job(client, services)
    panel = "/jobs/{jobId}/panels/{index}"
    edit = {"caption": "The harbour, at last."}
    _check(
        panel, "PATCH", client.patch(f"/jobs/{edited_id}/panels/0", json=edit, headers=AUTH), 409
    )
    render_panel(services, edited_id, 1)
    edited = client.patch(f"/jobs/{edited_id}/panels/0", json=edit, headers=AUTH)
    assert _check(panel, "PATCH", edited, 202)["caption"] == "The harbour, at last."
    nobody = {"dialogue": [{"speaker": "Nobody", "text": "Hi"}]}
    _check(
        panel, "PATCH", client.patch(f"/jobs/{edited_id}/panels/0", json=nobody, headers=AUTH), 400
    )
    translate = "/jobs/{jobId}:translate"
    french = client.post(f"/jobs/{edited_id}:translate", json={"language": "fr"}, headers=AUTH)
    _check(translate, "POST", french, 422)
    klingon = client.post(f"/jobs/{edited_id}:translate", json={"language": "tlh"}, headers=AUTH)
    _check(translate, "POST", klingon, 400)
    # 429: a quota reached; 503: a dependency down.
    limited = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "u", "PANELFLOW_MAX_ACTIVE_JOBS": "1"})
    monkeypatch.setattr(services, "settings", limited)
    _check("/jobs", "POST", client.post("/jobs", json={"story": "Three."}, headers=AUTH), 429)
    monkeypatch.undo()
    services.queue.fail_with = TransientError("could not publish, try again")
    _check("/jobs", "POST", client.post("/jobs", json={"story": "Four."}, headers=AUTH), 503)


def test_the_readme_documents_the_same_routes() -> None:
    readme = (ROOT / "README.md").read_text()
    for template, method in openapi_spec.operations():
        assert f"`{method} {template}" in readme, (method, template)
