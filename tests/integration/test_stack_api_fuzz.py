"""Fuzzing the running local stack's API over HTTP (the real function under
functions-framework, Firestore, Pub/Sub and Storage emulators): never a 5xx, every 4xx in
the documented error shape, every documented answer in its schema, and exactly one job
document per 202 — a refused request leaves none.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests as http
from hypothesis import given

from api_fuzz import Request, Tally, fuzz_settings, requests
from stack_helpers import headers, id_token, start_job

pytestmark = pytest.mark.stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "security"
EXAMPLES = 500


def test_fuzzed_requests_against_the_local_stack(stack_env: dict[str, str]) -> None:
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    api = stack_env["PANELFLOW_API_URL"]
    run = uuid.uuid4().hex[:6]
    users = (f"fuzz-{run}-a", f"fuzz-{run}-b")
    known_job = start_job(api, users[0], "Ada met Bo.", panels=1)
    session = http.Session()
    tally = Tally()

    @fuzz_settings(EXAMPLES)
    @given(request=requests(known_job=known_job, users=users, token=id_token))
    def one(request: Request) -> None:
        response = session.request(
            request.method,
            api + request.path,
            headers=request.headers,
            data=request.body,
            params=request.query,
            timeout=30,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        tally.record(request, response.status_code, body)

    try:
        one()
    finally:
        # Stop what the fuzzer started, so the other tests on this stack keep their speed.
        for uid in users:
            jobs = session.get(f"{api}/jobs?limit=100", headers=headers(uid), timeout=10)
            for job in jobs.json()["jobs"]:
                if job["status"] in ("queued", "planning", "rendering"):
                    session.post(f"{api}/jobs/{job['jobId']}:cancel", headers=headers(uid))
    db = firestore.Client(project=stack_env["GOOGLE_CLOUD_PROJECT"])
    stored = {
        doc.id
        for uid in users
        for doc in db.collection("jobs").where(filter=FieldFilter("ownerUid", "==", uid)).get()
    }
    stories = {doc.id for doc in db.collection("jobInputs").get()} & stored
    summary = tally.summary() | {"jobs_stored": len(stored - {known_job})}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "fuzz-stack.json").write_text(json.dumps(summary, indent=2))
    print("api fuzz (local stack):", json.dumps(summary))
    assert tally.requests >= EXAMPLES
    assert tally.server_errors == []
    assert tally.bad_error_shapes == []
    assert tally.bad_bodies == []
    # One job (and one story) per job a 202 named, none for anything refused.
    assert stored - {known_job} == tally.accepted_jobs
    assert stories == stored
    assert {202, 400, 401, 404, 429} <= set(tally.statuses), tally.statuses
