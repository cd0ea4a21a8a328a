"""Fuzzing the HTTP API through the functions-framework runtime on fakes (fast and
deterministic). Every answer: never 5xx, every 4xx in the documented error shape, every
documented answer in its documented schema, and a refused request leaves nothing behind.
tests/integration/test_api_fuzz.py does the same against the running local stack.
"""

from __future__ import annotations

import json
from pathlib import Path

from functions_framework import create_app
from hypothesis import given

from api_fuzz import USERS, Request, Tally, fuzz_settings, requests
from fakes.services import fake_services
from panelflow import bootstrap
from panelflow.bootstrap import Services
from panelflow.domain.models import JobRequest
from panelflow.services.jobs import start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.settings import Settings

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "security"
EXAMPLES = 1000
KNOWN_JOB = "f" * 32


def _fresh_services(settings: Settings) -> Services:
    """New fakes with one job of USERS[0], planned, its first panel drawn."""
    services = fake_services(settings, worker_id="fuzz")
    job = start_job(services, USERS[0], JobRequest("Ada met Bo.", "noir", 2, "en"))
    # A fixed id, so the strategies can aim at it.
    store = services.store
    stored = store.jobs.pop(job.job_id)
    stored.job_id = KNOWN_JOB
    store.jobs[KNOWN_JOB] = stored
    store.stories[KNOWN_JOB] = store.stories.pop(job.job_id)
    plan_job(services, KNOWN_JOB)
    render_panel(services, KNOWN_JOB, 0)
    services.queue.plans.clear()
    services.queue.panels.clear()
    return services


def test_fuzzed_requests_never_answer_5xx_and_refusals_leave_nothing() -> None:
    app = create_app("api", str(SOURCE), "http").test_client()
    base_settings = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "demo-fuzz"})
    tally = Tally()
    leftovers: list[str] = []

    @fuzz_settings(EXAMPLES)
    @given(request=requests(known_job=KNOWN_JOB))
    def one(request: Request) -> None:
        services = _fresh_services(base_settings)
        bootstrap.use(services)
        try:
            before_jobs = {job_id: job.to_dict() for job_id, job in services.store.jobs.items()}
            before_usage = dict(services.store.usage)
            response = app.open(
                request.path,
                method=request.method,
                headers=request.headers,
                data=request.body,
                query_string=request.query,
            )
            try:
                body = json.loads(response.get_data())
            except ValueError:
                body = None
            tally.record(request, response.status_code, body)
            store = services.store
            created = set(store.jobs) - set(before_jobs)
            where = f"{request.method} {request.path} -> {response.status_code}"
            if response.status_code == 202 and request.path.rstrip("/") == "/jobs":
                if len(created) != 1 or services.queue.plans != list(created):
                    leftovers.append(f"{where}: created {created}")
            elif response.status_code >= 400:
                # A refused request wrote nothing: no job, no story, no usage, nothing queued.
                after = {job_id: job.to_dict() for job_id, job in store.jobs.items()}
                if after != before_jobs or store.usage != before_usage:
                    leftovers.append(f"{where}: the store changed")
                if services.queue.plans or services.queue.panels:
                    leftovers.append(f"{where}: work was queued")
        finally:
            bootstrap.use(None)

    one()
    summary = tally.summary() | {"left_behind_by_refusals": len(leftovers)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "fuzz-unit.json").write_text(json.dumps(summary, indent=2))
    print("api fuzz (test client, fakes):", json.dumps(summary))
    assert tally.requests >= 500
    assert tally.server_errors == []
    assert tally.bad_error_shapes == []
    assert tally.bad_bodies == []
    assert leftovers == []
    # The mix reached every kind of answer worth reaching.
    assert {200, 202, 400, 401, 404, 405, 415} <= set(tally.statuses), tally.statuses
