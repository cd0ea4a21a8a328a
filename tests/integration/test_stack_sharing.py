"""Devices, notifications, share links and the client document schemas on the running local
stack, whose relay delivers every work and notify message twice.

One stack for the module: the FCM HTTP v1 fake runs in this process and the notifier
function sends to it (PANELFLOW_FCM_ENDPOINT).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from emulator_fixtures import export_env, running, simulated_options
from fakes.fcm_server import FakeFcm
from panelflow.domain.sharing import token_hash
from panelflow_cli.stack import LocalStack
from stack_helpers import headers, start_job, wait, watch

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
STORY = "The keeper climbs the stair. Mira waves from the boat. The lamp shines at last."


@pytest.fixture(scope="module")
def fcm() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(fcm: FakeFcm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    options = simulated_options(
        tmp_path_factory.mktemp("sharing"),
        panel_concurrency=4,
        image_s=0.3,
        PANELFLOW_FCM_ENDPOINT=fcm.endpoint,
        PANELFLOW_FCM_RETRY_BUDGET_S="3",
    )
    with running(dataclasses.replace(options, duplicate_deliveries=True, web=False)) as started:
        yield started


@pytest.fixture
def env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return export_env(stack, monkeypatch)


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema)


def _until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.25)


def test_a_finished_job_notifies_each_device_once_and_forgets_unregistered_tokens(
    env: dict[str, str], fcm: FakeFcm
) -> None:
    from google.cloud import firestore

    api, uid = env["PANELFLOW_API_URL"], f"notified-{uuid.uuid4().hex[:6]}"
    tokens = {"phone": f"fcm-phone-{uid}", "tablet": f"fcm-tablet-{uid}", "gone": f"fcm-gone-{uid}"}
    fcm.unregistered.add(tokens["gone"])
    for token, platform in zip(tokens.values(), ("android", "ios", "web"), strict=True):
        answer = requests.post(
            f"{api}/devices",
            json={"token": token, "platform": platform},
            headers=headers(uid),
            timeout=120,
        )
        assert answer.status_code == 201, answer.text
    job_id = start_job(api, uid, STORY, panels=2)
    job = wait(watch(env["GOOGLE_CLOUD_PROJECT"], job_id, timeout=120)).job
    assert job["status"] == "completed"

    def mine() -> list[dict[str, Any]]:
        return [r.message for r in fcm.messages if r.message["data"].get("jobId") == job_id]

    _until(lambda: len(mine()) >= 2)
    devices = firestore.Client().collection("users").document(uid).collection("devices")
    _until(lambda: token_hash(tokens["gone"]) not in {d.id for d in devices.list_documents()})
    time.sleep(3)  # the duplicate notify delivery has long been handled by now
    received = mine()
    delays = [
        r.at - job["finishedAt"] for r in fcm.messages if r.message["data"]["jobId"] == job_id
    ]
    print(f"notification after the final move: {min(delays):.2f}-{max(delays):.2f} s")
    assert sorted(m["token"] for m in received) == sorted([tokens["phone"], tokens["tablet"]])
    for message in received:
        assert message["notification"] == {"title": job["title"], "body": "Your comic is ready"}
        assert message["data"] == {
            "jobId": job_id,
            "status": "completed",
            "link": f"/#/jobs/{job_id}",
        }
        assert STORY not in json.dumps(message) and "Mira waves" not in json.dumps(message)
    # The unregistered token was tried (once per delivery at most) and removed.
    gone_requests = [r for r in fcm.requests if r.message.get("token") == tokens["gone"]]
    assert 1 <= len(gone_requests) <= 2
    assert {d.id for d in devices.list_documents()} == {
        token_hash(tokens["phone"]),
        token_hash(tokens["tablet"]),
    }

    # The documents a client reads match the published schemas (and hold no lease fields).
    client = firestore.Client()
    job_doc = client.collection("jobs").document(job_id).get().to_dict()
    problems = list(_validator("job").iter_errors(job_doc))
    panel_docs = [d.to_dict() for d in client.collection(f"jobs/{job_id}/panels").stream()]
    assert len(panel_docs) == 2
    for panel in panel_docs:
        problems += list(_validator("panel").iter_errors(panel))
    for device in devices.stream():
        problems += list(_validator("device").iter_errors(device.to_dict()))
    assert problems == [], [p.message for p in problems]
    for internal in ("lease", "attempts", "leaseOwner", "leaseExpiresAt"):
        assert all(internal not in panel for panel in panel_docs)


def test_a_share_link_opens_the_comic_without_sign_in_until_revoked(env: dict[str, str]) -> None:
    api, uid = env["PANELFLOW_API_URL"], f"sharer-{uuid.uuid4().hex[:6]}"
    assert requests.get(f"{api}/jobs", headers=headers(uid), timeout=120).ok
    job_id = start_job(api, uid, STORY, panels=2)
    wait(watch(env["GOOGLE_CLOUD_PROJECT"], job_id, timeout=120))
    other = f"stranger-{uuid.uuid4().hex[:6]}"
    refused = requests.post(f"{api}/jobs/{job_id}/shares", headers=headers(other), timeout=60)
    assert refused.status_code == 404
    made = requests.post(
        f"{api}/jobs/{job_id}/shares", json={"ttlDays": 2}, headers=headers(uid), timeout=10
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]

    shared = requests.get(f"{api}/shares/{token}", timeout=10)  # no Authorization at all
    assert shared.status_code == 200, shared.text
    assert shared.headers["Cache-Control"] == "no-store"
    comic = shared.json()
    assert [panel["index"] for panel in comic["panels"]] == [0, 1]
    image = requests.get(comic["panels"][0]["image"]["url"], timeout=10)
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    assert uid not in shared.text and "keeper climbs the stair. Mira" not in shared.text

    revoked = requests.delete(
        f"{api}/jobs/{job_id}/shares/{token}", headers=headers(uid), timeout=10
    )
    assert revoked.status_code == 204
    gone = requests.get(f"{api}/shares/{token}", timeout=10)
    unknown = requests.get(f"{api}/shares/{'A' * 43}", timeout=10)
    assert gone.status_code == unknown.status_code == 404 and gone.json() == unknown.json()

    # Deleting the job deletes its links.
    second = requests.post(f"{api}/jobs/{job_id}/shares", headers=headers(uid), timeout=10)
    assert requests.get(f"{api}/shares/{second.json()['token']}", timeout=10).status_code == 200
    assert requests.delete(f"{api}/jobs/{job_id}", headers=headers(uid), timeout=30).ok
    assert requests.get(f"{api}/shares/{second.json()['token']}", timeout=10).status_code == 404
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    shares = firestore.Client().collection("shares")
    left = shares.where(filter=FieldFilter("jobId", "==", job_id)).get()
    assert left == []
