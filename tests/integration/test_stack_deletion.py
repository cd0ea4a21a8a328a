"""Deleting on the running local stack: a job, then a whole account while its jobs run, and
then a look at everything Firestore and Storage still hold — nothing of that user."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from panelflow_cli.stack import LocalStack
from stack_helpers import headers, start_job, wait, watch

pytestmark = pytest.mark.stack

STORY = " ".join(f"Scene {n}: the keeper climbs the stair." for n in range(1, 7))


def _env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    return stack.env


def _left_behind(uid: str, job_ids: set[str]) -> list[str]:
    """Every Firestore document and Storage object that names the user or one of the jobs:
    every top-level collection and every subcollection, by collection-group queries."""
    from google.cloud import firestore, storage

    client = firestore.Client()
    left: list[str] = []

    def names_them(doc) -> bool:
        data = doc.to_dict() or {}
        path = doc.reference.path
        return (
            data.get("ownerUid") == uid
            or data.get("jobId") in job_ids
            or doc.id == uid
            or any(f"/{job_id}" in f"/{path}" for job_id in job_ids)
        )

    subcollections: set[str] = set()
    for collection in client.collections():
        for doc in collection.stream():
            if names_them(doc):
                left.append(doc.reference.path)
            subcollections |= {sub.id for sub in doc.reference.collections()}
    for job_id in job_ids:  # a document missing but with subcollections still under it
        subcollections |= {
            sub.id for sub in client.collection("jobs").document(job_id).collections()
        }
    for name in subcollections | {"panels", "costs"}:
        left += [
            doc.reference.path for doc in client.collection_group(name).stream() if names_them(doc)
        ]
    bucket = storage.Client().bucket("panelflow-assets")
    for blob in bucket.list_blobs(prefix="jobs/"):
        if blob.name.split("/")[1] in job_ids:
            left.append(f"gs://{bucket.name}/{blob.name}")
    return sorted(set(left))


def _paid_calls_since(stack: LocalStack, moment: float) -> list[dict]:
    rows = [json.loads(line) for line in stack.call_log.read_text().splitlines() if line]  # type: ignore[attr-defined]
    return [row for row in rows if row.get("phase") == "start" and row["time"] > moment]


def test_delete_a_job_then_the_account_while_its_jobs_run(
    simulated_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(simulated_stack, monkeypatch)
    api = env["PANELFLOW_API_URL"]
    uid, other = f"leaver-{uuid.uuid4().hex[:6]}", f"stayer-{uuid.uuid4().hex[:6]}"
    project = env["GOOGLE_CLOUD_PROJECT"]

    # First calls make the users and warm the API up (slow on a loaded machine).
    for user in (uid, other):
        assert requests.get(f"{api}/jobs", headers=headers(user), timeout=120).ok
    finished = start_job(api, uid, STORY, panels=2)
    wait(watch(project, finished, timeout=90))
    kept = start_job(api, other, STORY, panels=1)
    # Deleting a job: someone else cannot (404, nothing removed); the owner can, once.
    assert (
        requests.delete(f"{api}/jobs/{finished}", headers=headers(other), timeout=10).status_code
        == 404
    )
    assert _left_behind(uid, {finished})
    assert (
        requests.delete(f"{api}/jobs/{finished}", headers=headers(uid), timeout=10).status_code
        == 204
    )
    assert (
        requests.delete(f"{api}/jobs/{finished}", headers=headers(uid), timeout=10).status_code
        == 404
    )

    # Deleting the account while two jobs render (one with an idempotency key).
    running = {start_job(api, uid, STORY, panels=6) for _ in range(2)}
    keyed = requests.post(
        f"{api}/jobs",
        json={"story": STORY, "panels": 3},
        headers={**headers(uid), "Idempotency-Key": "leaving"},
        timeout=10,
    )
    running.add(keyed.json()["jobId"])
    time.sleep(2.5)  # planned, panels being drawn
    token = headers(uid)
    answer = requests.delete(f"{api}/me", headers=token, timeout=60)
    answered = time.time()
    assert answer.status_code == 204, answer.text
    assert requests.get(f"{api}/jobs", headers=token, timeout=10).status_code == 401

    time.sleep(6)  # in-flight calls end; their workers find the jobs gone and clean up
    started_after = _paid_calls_since(simulated_stack, answered + 0.25)
    assert started_after == [], started_after
    jobs = running | {finished}
    assert _left_behind(uid, jobs) == []
    print(f"deleted account {uid}: {len(jobs)} jobs; left behind: nothing")
    # The other user's job is untouched.
    assert requests.get(f"{api}/jobs/{kept}", headers=headers(other), timeout=10).status_code == 200
