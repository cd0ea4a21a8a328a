"""Share links and devices through the real functions-framework runtime, on fakes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from functions_framework import create_app

from fakes.auth import fake_token
from panelflow.bootstrap import Services
from panelflow.domain.models import JobRequest
from panelflow.domain.sharing import Share, token_hash
from panelflow.services.deletion import delete_account
from panelflow.services.jobs import start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
AUTH = {"Authorization": f"Bearer {fake_token('user-1')}"}
OTHER = {"Authorization": f"Bearer {fake_token('user-2')}"}
STORY = "Ada met Bo by the sea. Secret words nobody else should read."


@pytest.fixture
def client(services: Services):
    return create_app("api", str(SOURCE), "http").test_client()


def _finished_job(services: Services, owner: str = "user-1") -> str:
    request = JobRequest(story=STORY, style="noir", panels=2, language="en")
    job_id = start_job(services, owner, request).job_id
    plan_job(services, job_id)
    for queued, index in list(services.queue.panels):
        if queued == job_id:
            render_panel(services, job_id, index)
    return job_id


def _share(client, job_id: str, body: object = None, headers=AUTH):
    data = "" if body is None else json.dumps(body)
    return client.post(
        f"/jobs/{job_id}/shares", data=data, headers=headers, content_type="application/json"
    )


def test_a_share_link_opens_the_finished_comic_without_signing_in(client, services) -> None:
    job_id = _finished_job(services)
    created = _share(client, job_id)
    assert created.status_code == 201
    link = created.get_json()
    assert link["url"] == f"/s/{link['token']}" and len(link["token"]) == 43
    assert 29.9 * 86400 < link["expiresAt"] - time.time() <= 30 * 86400
    # Only the hash is stored: the token itself is nowhere in the store.
    assert link["token"] not in repr(services.shares.shares)
    assert token_hash(link["token"]) in services.shares.shares

    shared = client.get(f"/shares/{link['token']}")
    assert shared.status_code == 200
    assert shared.headers["Cache-Control"] == "no-store"
    comic = shared.get_json()
    assert comic["panelCount"] == 2 and [p["index"] for p in comic["panels"]] == [0, 1]
    assert all(p["image"]["url"].startswith("memory://jobs/") for p in comic["panels"])
    assert services.blobs.signed and all(
        path.startswith(f"jobs/{job_id}/") for path in services.blobs.signed
    )
    assert set(comic["panels"][0]) == {
        "index",
        "caption",
        "narration",
        "dialogue",
        "image",
        "audio",
    }
    assert "path" not in comic["panels"][0]["image"]
    text = json.dumps(comic)
    for hidden in ("user-1", "ownerUid", STORY, "imagePrompt", "lease", "attempts"):
        assert hidden not in text


def test_ttl_days_sets_the_expiry_and_bad_values_are_400(client, services) -> None:
    job_id = _finished_job(services)
    link = _share(client, job_id, {"ttlDays": 1}).get_json()
    assert 86000 < link["expiresAt"] - time.time() <= 86400
    for bad, reason in (
        ({"ttlDays": 0}, "between 1 and 365"),
        ({"ttlDays": 366}, "between 1 and 365"),
        ({"ttlDays": "7"}, "integer"),
        ({"ttlDays": True}, "integer"),
        ({"days": 7}, "not a known field"),
    ):
        response = _share(client, job_id, bad)
        assert response.status_code == 400, bad
        assert reason in response.get_json()["error"]["errors"][0]["reason"]


def test_revoked_expired_malformed_and_unknown_links_answer_the_same_404(client, services) -> None:
    job_id = _finished_job(services)
    revoked = _share(client, job_id).get_json()["token"]
    assert client.delete(f"/jobs/{job_id}/shares/{revoked}", headers=AUTH).status_code == 204
    expired = "E" * 43
    services.shares.create_share(
        Share(token_hash(expired), job_id, "user-1", time.time() - 99, time.time() - 1)
    )
    answers = [
        client.get(f"/shares/{token}")
        for token in (revoked, expired, "x" * 43, "short", "%00", "a/b", "Z" * 400)
    ]
    assert {response.status_code for response in answers} == {404}
    assert len({response.get_data() for response in answers}) == 1
    assert answers[0].get_json() == {
        "error": {"code": "not_found", "message": "this link is no longer valid"}
    }


def test_only_the_owner_shares_lists_and_revokes(client, services) -> None:
    job_id = _finished_job(services)
    token = _share(client, job_id).get_json()["token"]
    assert _share(client, job_id, headers=OTHER).status_code == 404
    assert client.get(f"/jobs/{job_id}/shares", headers=OTHER).status_code == 404
    assert client.delete(f"/jobs/{job_id}/shares/{token}", headers=OTHER).status_code == 404
    assert client.get(f"/jobs/{job_id}/shares").status_code == 401
    listed = client.get(f"/jobs/{job_id}/shares", headers=AUTH).get_json()["shares"]
    assert [share["id"] for share in listed] == [token_hash(token)]
    assert token not in json.dumps(listed)
    # The list's id revokes too (the token is shown once, when the link is made).
    assert (
        client.delete(f"/jobs/{job_id}/shares/{listed[0]['id']}", headers=AUTH).status_code == 204
    )
    assert client.get(f"/shares/{token}").status_code == 404


def test_an_unfinished_comic_cannot_be_shared(client, services) -> None:
    request = JobRequest(story=STORY, style="noir", panels=2, language="en")
    job_id = start_job(services, "user-1", request).job_id
    response = _share(client, job_id)
    assert response.status_code == 409


def test_deleting_the_job_or_the_account_kills_its_links(client, services) -> None:
    job_id = _finished_job(services)
    token = _share(client, job_id).get_json()["token"]
    assert client.delete(f"/jobs/{job_id}", headers=AUTH).status_code == 204
    assert client.get(f"/shares/{token}").status_code == 404
    assert services.shares.shares == {}
    other_job = _finished_job(services)
    _share(client, other_job)
    client.post("/devices", json={"token": "tok-1", "platform": "ios"}, headers=AUTH)
    delete_account(services, "user-1")
    assert services.shares.shares == {} and services.devices.list_devices("user-1") == []


def test_devices_register_move_between_users_and_unregister(client, services) -> None:
    first = client.post("/devices", json={"token": "fcm:abc", "platform": "android"}, headers=AUTH)
    assert first.status_code == 201 and first.get_json()["id"] == token_hash("fcm:abc")
    again = client.post("/devices", json={"token": "fcm:abc", "platform": "android"}, headers=AUTH)
    assert again.status_code == 204
    moved = client.post("/devices", json={"token": "fcm:abc", "platform": "ios"}, headers=OTHER)
    assert moved.status_code == 201
    assert services.devices.list_devices("user-1") == []
    assert [d.platform for d in services.devices.list_devices("user-2")] == ["ios"]
    assert client.delete("/devices/fcm:abc", headers=AUTH).status_code == 404
    assert client.delete("/devices/fcm:abc", headers=OTHER).status_code == 204
    assert services.devices.list_devices("user-2") == []


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"token": "", "platform": "ios"}, "token", "must not be empty"),
        ({"token": "x" * 4097, "platform": "ios"}, "token", "at most 4096 bytes"),
        ({"token": 42, "platform": "ios"}, "token", "must be a string"),
        ({"token": ["a"], "platform": "ios"}, "token", "must be a string"),
        ({"platform": "ios"}, "token", "is required"),
        ({"token": "a/b", "platform": "ios"}, "token", "without '/'"),
        ({"token": "abc", "platform": "windows"}, "platform", "must be one of ios, android, web"),
        ({"token": "abc", "platform": "ios", "x": 1}, "x", "is not a known field"),
    ],
)
def test_bad_device_bodies_are_400_naming_the_field(client, body, field, reason) -> None:
    response = client.post("/devices", json=body, headers=AUTH)
    assert response.status_code == 400
    errors = response.get_json()["error"]["errors"]
    assert any(e["field"] == field and reason in e["reason"] for e in errors), errors


def test_a_4096_byte_token_is_accepted_and_devices_need_sign_in(client) -> None:
    body = {"token": "t" * 4096, "platform": "web"}
    assert client.post("/devices", json=body, headers=AUTH).status_code == 201
    assert client.post("/devices", json=body).status_code == 401


def test_share_and_device_answers_validate_against_the_spec(client, services) -> None:
    import openapi_spec

    def check(template: str, method: str, response, status: int) -> None:
        assert response.status_code == status, response.get_data(as_text=True)
        if status != 204:
            body = response.get_json()
            assert openapi_spec.body_errors(template, method, status, body) == [], body

    job_id = _finished_job(services)
    created = _share(client, job_id, {"ttlDays": 7})
    check("/jobs/{jobId}/shares", "POST", created, 201)
    token = created.get_json()["token"]
    check("/jobs/{jobId}/shares", "POST", _share(client, job_id, {"ttlDays": 0}), 400)
    check("/jobs/{jobId}/shares", "GET", client.get(f"/jobs/{job_id}/shares", headers=AUTH), 200)
    check("/shares/{token}", "GET", client.get(f"/shares/{token}"), 200)
    check("/shares/{token}", "GET", client.get("/shares/nope"), 404)
    device = {"token": "fcm-token-1", "platform": "web"}
    check("/devices", "POST", client.post("/devices", json=device, headers=AUTH), 201)
    check("/devices", "POST", client.post("/devices", json={"token": ""}, headers=AUTH), 400)
    check("/devices/{token}", "DELETE", client.delete("/devices/nope", headers=AUTH), 404)
    revoke = client.delete(f"/jobs/{job_id}/shares/{token}", headers=AUTH)
    check("/jobs/{jobId}/shares/{token}", "DELETE", revoke, 204)
