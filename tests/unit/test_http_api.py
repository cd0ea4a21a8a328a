"""The orchestrator's HTTP function through the real functions-framework runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from functions_framework import create_app

from fakes.auth import fake_token
from panelflow.bootstrap import Services
from panelflow.domain.errors import TransientError

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
AUTH = {"Authorization": f"Bearer {fake_token('user-1')}"}


@pytest.fixture
def client(services: Services):
    return create_app("api", str(SOURCE), "http").test_client()


def _post(client, body, headers=AUTH, **kwargs):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    kwargs.setdefault("content_type", "application/json")
    return client.post("/jobs", data=data, headers=headers, **kwargs)


def test_post_jobs_answers_202_with_id_status_and_links(client, services: Services) -> None:
    response = _post(client, {"story": "Ada met Bo.", "panels": 3, "style": "manga"})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert body["links"]["self"] == f"/jobs/{body['jobId']}"
    assert response.headers["Location"] == body["links"]["self"]
    job = services.store.get_job(body["jobId"])
    assert (job.panels_requested, job.style, job.owner_uid) == (3, "manga", "user-1")
    assert services.queue.plans == [body["jobId"]]


def test_get_job_returns_the_job_with_its_panels(client, services: Services) -> None:
    from panelflow.services.planning import plan_job

    job_id = _post(client, {"story": "Ada met Bo.", "panels": 2}).get_json()["jobId"]
    plan_job(services, job_id)
    body = client.get(f"/jobs/{job_id}", headers=AUTH).get_json()
    assert body["status"] == "rendering"
    assert [p["index"] for p in body["panels"]] == [0, 1]
    assert all("lease" not in p for p in body["panels"])


def test_another_users_job_is_not_found(client) -> None:
    job_id = _post(client, {"story": "Ada met Bo."}).get_json()["jobId"]
    other = {"Authorization": f"Bearer {fake_token('user-2')}"}
    response = client.get(f"/jobs/{job_id}", headers=other)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_list_jobs_returns_only_mine_newest_first(client) -> None:
    first = _post(client, {"story": "One."}).get_json()["jobId"]
    second = _post(client, {"story": "Two."}).get_json()["jobId"]
    _post(client, {"story": "Theirs."}, headers={"Authorization": f"Bearer {fake_token('u2')}"})
    jobs = client.get("/jobs", headers=AUTH).get_json()["jobs"]
    assert [job["jobId"] for job in jobs] == [second, first]


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"story": ""}, "story", "must not be empty"),
        ({"story": "  \n\t "}, "story", "must not be empty"),
        ({"story": "x" * 5001}, "story", "must be at most 5000 characters (got 5001)"),
        ({"story": "ok", "style": "cubism"}, "style", "must be one of"),
        ({"story": "ok", "panels": 0}, "panels", "must be between 1 and 24"),
        ({"story": "ok", "panels": 25}, "panels", "must be between 1 and 24"),
        ({"story": "ok", "panels": "3"}, "panels", "must be an integer"),
        ({"story": "ok", "language": "xx"}, "language", "must be one of"),
        ({"story": "ok", "colour": "red"}, "colour", "is not a known field"),
        ({}, "story", "is required"),
        ({"story": 42}, "story", "must be a string"),
        ({"story": "ok", "panels": 2.5}, "panels", "must be an integer"),
        ([1, 2], "body", "must be a JSON object"),
        ("{not json", "body", "is not valid JSON"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(
    client, services: Services, body, field, reason
) -> None:
    response = _post(client, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_argument"
    assert any(e["field"] == field and e["reason"].startswith(reason) for e in error["errors"])
    assert services.store.jobs == {} and services.queue.plans == []


def test_every_bad_field_is_listed(client) -> None:
    response = _post(client, {"story": "", "style": "cubism", "panels": 99})
    fields = {e["field"] for e in response.get_json()["error"]["errors"]}
    assert fields >= {"story"}
    response = _post(client, {"story": "ok", "style": "cubism", "panels": 99, "language": "xx"})
    fields = {e["field"] for e in response.get_json()["error"]["errors"]}
    assert fields == {"style", "panels", "language"}


def test_wrong_content_type_is_415(client, services: Services) -> None:
    response = _post(client, "story=hi", content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json()["error"]["field"] == "Content-Type"
    assert services.store.jobs == {}


def test_oversized_body_is_413(client, services: Services) -> None:
    response = _post(client, json.dumps({"story": "x" * 70_000}))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert services.store.jobs == {}


def test_control_characters_are_stripped(client, services: Services) -> None:
    job_id = _post(client, {"story": "Ada\x00 met\x1b Bo.\r\nEnd."}).get_json()["jobId"]
    assert services.store.get_story(job_id) == "Ada met Bo.\nEnd."


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer not-a-jwt", "Bearer a.e30.b"])
def test_missing_or_bad_token_is_401_json(client, services: Services, header) -> None:
    headers = {"Authorization": header} if header else {}
    response = _post(client, {"story": "ok"}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert services.store.jobs == {}


def test_queue_outage_is_503_with_retry_after_and_no_job_left(client, services: Services) -> None:
    services.queue.fail_with = TransientError("could not publish work messages, try again")
    response = _post(client, {"story": "ok"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert services.store.jobs == {}


def test_unknown_route_and_method(client) -> None:
    assert client.get("/nope", headers=AUTH).status_code == 404
    response = client.delete("/jobs", headers=AUTH)
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_responses_carry_security_headers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
