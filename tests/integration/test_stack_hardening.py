"""The local stack answers only whoever it should: loopback Host names (421 otherwise, against
DNS rebinding), the relay's secret at the event functions (403 otherwise, so no page or
process can fail someone's panel through the dead-letter function), and no method override
that would turn a read-only signed link into a write."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests

from panelflow_cli.stack import LocalStack
from stack_helpers import headers, start_job

pytestmark = pytest.mark.stack


def test_foreign_host_names_are_421_everywhere(local_stack: LocalStack, stack_env) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    storage = stack_env["STORAGE_EMULATOR_HOST"]
    for url in (f"{api}/healthz", f"{storage}/storage/v1/b", local_stack.function_url("worker")):
        port = url.split("//")[1].split("/")[0].rsplit(":", 1)[1]
        for host in ("rebound.example", f"rebound.example:{port}", f"127.0.0.1.nip.io:{port}"):
            answer = requests.get(url, headers={"Host": host}, timeout=10)
            assert answer.status_code == 421, (url, host, answer.status_code)
    for host in ("localhost", "127.0.0.1"):
        port = api.rsplit(":", 1)[1]
        assert requests.get(f"{api}/healthz", headers={"Host": f"{host}:{port}"}).ok


def test_event_functions_answer_only_the_relay(local_stack: LocalStack, stack_env) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    owner = f"victim-{uuid.uuid4().hex[:6]}"
    job_id = start_job(api, owner, "Ada met Bo. They talked.", panels=1)
    data = base64.b64encode(json.dumps({"jobId": job_id, "panelIndex": 0}).encode()).decode()
    event = {
        "message": {"data": data, "attributes": {}, "messageId": "1", "publishTime": ""},
        "subscription": "projects/p/subscriptions/s",
    }
    ce = {
        "Content-Type": "application/json",
        "ce-id": "forged",
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": "//pubsub.googleapis.com/projects/p/topics/t",
    }
    for key in ("dead-letter", "worker", "plan", "sweeper"):
        forged = requests.post(local_stack.function_url(key), json=event, headers=ce, timeout=10)
        assert forged.status_code == 403, (key, forged.status_code)
    # The job was not touched by the forged dead letter.
    job = requests.get(f"{api}/jobs/{job_id}", headers=headers(owner), timeout=10).json()
    assert all(
        p.get("error", {}) in (None, {}) or p["error"]["code"] != "retries_exhausted"
        for p in job["panels"]
    )


def test_a_read_only_signed_link_cannot_write(stack_env, monkeypatch) -> None:
    for key, value in stack_env.items():
        monkeypatch.setenv(key, value)
    from panelflow.adapters.gcs_blobs import GcsBlobStore

    blobs = GcsBlobStore(
        stack_env["GOOGLE_CLOUD_PROJECT"],
        "panelflow-assets",
        signing_key_file=stack_env["PANELFLOW_SIGNING_KEY_FILE"],
    )
    path = f"jobs/{uuid.uuid4().hex}/image-x.png"
    blobs.put(path, b"original", "image/png")
    url = blobs.signed_url(path, 60).url
    attempts = [
        requests.get(url, headers={"X-HTTP-Method-Override": "PUT"}, data=b"evil", timeout=10),
        requests.post(url, headers={"X-HTTP-Method-Override": "PUT"}, data=b"evil", timeout=10),
        requests.get(url, headers={"X-HTTP-Method": "DELETE"}, timeout=10),
        requests.get(url + "&_method=PUT", data=b"evil", timeout=10),
    ]
    assert [answer.status_code for answer in attempts[:3]] == [400, 400, 400]
    assert attempts[3].status_code in (400, 403)
    assert requests.put(url, data=b"evil", timeout=10).status_code == 403  # the method is signed
    assert blobs.get(path) == b"original"
    assert requests.get(url, timeout=10).content == b"original"
