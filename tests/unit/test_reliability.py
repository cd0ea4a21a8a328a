"""Idempotent starts, cancel, retry, regenerate, the sweeper and dead letters, on fakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from functions_framework import create_app

from fakes.auth import fake_token
from panelflow.bootstrap import Services
from panelflow.domain.errors import (
    Conflict,
    ContentBlocked,
    IdempotencyConflict,
    NotFound,
    TransientError,
)
from panelflow.domain.models import JobRequest, JobStatus, PanelAssets, PanelStatus
from panelflow.services.control import cancel_job, regenerate_panel, retry_job
from panelflow.services.dead_letters import handle_dead_letter
from panelflow.services.jobs import start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.services.sweeper import sweep

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
REQUEST = JobRequest(story="Ada met Bo. They talked.", style="noir", panels=3, language="en")


def _planned(services: Services, panels: int = 3) -> str:
    request = JobRequest(story=REQUEST.story, style="noir", panels=panels, language="en")
    job_id = start_job(services, "user-1", request).job_id
    plan_job(services, job_id)
    return job_id


def _render_queued(services: Services, job_id: str) -> None:
    queued = [index for job, index in services.queue.panels if job == job_id]
    services.queue.panels.clear()
    for index in queued:
        render_panel(services, job_id, index)


# ---- idempotent start ------------------------------------------------------------------


def test_same_key_and_body_returns_the_first_job_and_queues_once(services: Services) -> None:
    first = start_job(services, "user-1", REQUEST, "key-1")
    again = start_job(services, "user-1", REQUEST, "key-1")
    assert again.job_id == first.job_id
    assert services.queue.plans == [first.job_id]
    assert len(services.store.jobs) == 1


def test_same_key_with_another_body_is_a_conflict(services: Services) -> None:
    start_job(services, "user-1", REQUEST, "key-1")
    other = JobRequest(story="Something else.", style="noir", panels=3, language="en")
    with pytest.raises(IdempotencyConflict):
        start_job(services, "user-1", other, "key-1")
    assert len(services.store.jobs) == 1


def test_keys_are_per_user_and_expire(services: Services) -> None:
    first = start_job(services, "user-1", REQUEST, "key-1")
    assert start_job(services, "user-2", REQUEST, "key-1").job_id != first.job_id
    services.settings = type(services.settings)(
        **{**services.settings.__dict__, "idempotency_ttl_seconds": -1.0}
    )
    expired = start_job(services, "user-3", REQUEST, "key-9")
    assert start_job(services, "user-3", REQUEST, "key-9").job_id != expired.job_id


def test_a_failed_start_frees_its_key(services: Services) -> None:
    services.queue.fail_with = TransientError("down")
    with pytest.raises(TransientError):
        start_job(services, "user-1", REQUEST, "key-1")
    assert services.store.keys == {}
    assert start_job(services, "user-1", REQUEST, "key-1").status == JobStatus.QUEUED


def test_http_idempotency_key_header(services: Services) -> None:
    client = create_app("api", str(SOURCE), "http").test_client()
    headers = {"Authorization": f"Bearer {fake_token('user-1')}", "Idempotency-Key": "abc-123"}
    body = json.dumps({"story": "Ada met Bo."})
    first = client.post("/jobs", data=body, headers=headers, content_type="application/json")
    second = client.post("/jobs", data=body, headers=headers, content_type="application/json")
    assert first.status_code == second.status_code == 202
    assert first.get_json()["jobId"] == second.get_json()["jobId"]
    changed = client.post(
        "/jobs",
        data=json.dumps({"story": "Other."}),
        headers=headers,
        content_type="application/json",
    )
    assert changed.status_code == 409
    assert changed.get_json()["error"]["code"] == "idempotency_key_reused"
    bad = client.post(
        "/jobs",
        data=body,
        headers={**headers, "Idempotency-Key": "é"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.get_json()["error"]["errors"][0]["field"] == "Idempotency-Key"


# ---- cancel ----------------------------------------------------------------------------


def test_cancel_stops_every_later_paid_call(services: Services) -> None:
    job_id = _planned(services, panels=3)
    calls_before = len(services.images.calls) + len(services.voice.calls)
    job = cancel_job(services, "user-1", job_id)
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None
    _render_queued(services, job_id)
    assert len(services.images.calls) + len(services.voice.calls) == calls_before
    assert all(p.status == PanelStatus.PENDING for p in services.store.list_panels(job_id))


def test_cancel_seen_mid_panel_skips_the_next_paid_call(services: Services) -> None:
    job_id = _planned(services, panels=1)

    def cancel_during_image(key: str) -> None:
        if key.startswith("panel:"):
            services.store.transition_job(job_id, [JobStatus.RENDERING], JobStatus.CANCELLED)

    services.images._fail = cancel_during_image
    # Speech starts only after the image has cancelled the job.
    services.voice._fail = lambda _key: None
    from panelflow.services import rendering

    original = rendering._produce

    def in_turn(services_: Services, job, claim, read):
        image = rendering._image(services_, job, claim.panel, claim.previous, read)
        return image, rendering._audio(services_, job, claim.panel, read)

    rendering._produce = in_turn
    try:
        _render_queued(services, job_id)
    finally:
        rendering._produce = original
    assert services.voice.calls == []
    assert services.store.get_job(job_id).status == JobStatus.CANCELLED
    assert services.store.get_panel(job_id, 0).status == PanelStatus.PENDING


def test_cancel_twice_is_fine_but_not_after_the_end(services: Services) -> None:
    job_id = _planned(services, panels=1)
    cancel_job(services, "user-1", job_id)
    assert cancel_job(services, "user-1", job_id).status == JobStatus.CANCELLED
    done = _planned(services, panels=1)
    _render_queued(services, done)
    with pytest.raises(Conflict):
        cancel_job(services, "user-1", done)


# ---- retry and regenerate --------------------------------------------------------------


def test_retry_requeues_only_failed_panels(services: Services) -> None:
    services.images._fail = lambda key: ContentBlocked("blocked") if key == "panel:1" else None
    job_id = _planned(services, panels=3)
    _render_queued(services, job_id)
    assert services.store.get_job(job_id).status == JobStatus.PARTIAL
    with pytest.raises(NotFound):
        retry_job(services, "user-2", job_id)
    services.images._fail = None
    job = retry_job(services, "user-1", job_id)
    assert job.status == JobStatus.RENDERING
    assert services.queue.panels == [(job_id, 1)]
    _render_queued(services, job_id)
    final = services.store.get_job(job_id)
    assert final.status == JobStatus.COMPLETED and (final.panels_done, final.panels_failed) == (
        3,
        0,
    )


def test_retry_of_a_running_job_is_refused(services: Services) -> None:
    job_id = _planned(services, panels=2)
    with pytest.raises(Conflict):
        retry_job(services, "user-1", job_id)


def test_retry_after_failed_planning_plans_again(services: Services) -> None:
    from panelflow.domain.errors import PlanningFailed

    services.planner._fail = lambda _key: PlanningFailed("no sentences")
    job_id = start_job(services, "user-1", REQUEST).job_id
    plan_job(services, job_id)
    services.planner._fail = None
    services.queue.plans.clear()
    assert retry_job(services, "user-1", job_id).status == JobStatus.QUEUED
    assert services.queue.plans == [job_id]
    plan_job(services, job_id)
    assert services.store.get_job(job_id).status == JobStatus.RENDERING


def test_regenerate_makes_a_new_image_and_finishes_the_job_again(services: Services) -> None:
    job_id = _planned(services, panels=2)
    _render_queued(services, job_id)
    old = services.store.get_panel(job_id, 1)
    images_before = len(services.images.calls)
    job = regenerate_panel(services, "user-1", job_id, 1)
    assert job.status == JobStatus.RENDERING
    assert services.store.get_panel(job_id, 1).generation == 1
    _render_queued(services, job_id)
    new = services.store.get_panel(job_id, 1)
    assert new.status == PanelStatus.DONE and new.image.path != old.image.path
    assert len(services.images.calls) == images_before + 1
    assert services.store.final_transitions == [
        (job_id, JobStatus.COMPLETED),
        (job_id, JobStatus.COMPLETED),
    ]


def test_late_write_of_an_older_attempt_is_ignored(services: Services) -> None:
    job_id = _planned(services, panels=1)
    claim = services.store.claim_panel(job_id, 0, "old-worker", 60)
    regenerate_panel(services, "user-1", job_id, 0)
    image = services.blobs.put("x.png", b"x", "image/png")
    assert not services.store.complete_panel(
        job_id, 0, "old-worker", PanelAssets(image, None), claim.token
    )
    assert services.store.get_panel(job_id, 0).status == PanelStatus.PENDING


def test_regenerate_unknown_panel_is_not_found(services: Services) -> None:
    job_id = _planned(services, panels=1)
    with pytest.raises(NotFound):
        regenerate_panel(services, "user-1", job_id, 7)
    with pytest.raises(NotFound):
        regenerate_panel(services, "user-2", job_id, 0)


# ---- sweeper and dead letters ----------------------------------------------------------


def test_sweeper_requeues_a_panel_whose_worker_vanished(services: Services) -> None:
    job_id = _planned(services, panels=2)
    services.queue.panels.clear()
    services.store.claim_panel(job_id, 0, "dead-worker", lease_seconds=1)
    report = sweep(services, now=services.store._clock() + 5)
    assert report["requeued"] == 1
    assert services.queue.panels == [(job_id, 0)]
    assert services.store.get_panel(job_id, 0).status == PanelStatus.PENDING


def test_sweeper_fails_a_panel_after_too_many_claims(services: Services) -> None:
    job_id = _planned(services, panels=1)
    for _ in range(services.settings.max_attempts):
        services.store.claim_panel(job_id, 0, "crashy", lease_seconds=1)
    sweep(services, now=services.store._clock() + 5)
    panel = services.store.get_panel(job_id, 0)
    assert panel.status == PanelStatus.FAILED and panel.error["code"] == "worker_lost"
    assert services.store.get_job(job_id).status == JobStatus.FAILED


def test_sweeper_replans_a_stuck_queue_and_times_out_old_jobs(services: Services) -> None:
    job_id = start_job(services, "user-1", REQUEST).job_id
    services.queue.plans.clear()
    created = services.store.get_job(job_id).created_at
    sweep(services, now=created + services.settings.plan_deadline_seconds + 1)
    assert services.queue.plans == [job_id]
    sweep(services, now=created + services.settings.job_deadline_seconds + 1)
    job = services.store.get_job(job_id)
    assert job.status == JobStatus.FAILED and job.error["code"] == "planning_timed_out"


def test_sweeper_ends_a_rendering_job_that_stopped_moving(services: Services) -> None:
    job_id = _planned(services, panels=2)
    render_panel(services, job_id, 0)
    job = services.store.get_job(job_id)
    sweep(services, now=job.updated_at + services.settings.job_deadline_seconds + 1)
    assert services.store.get_job(job_id).status == JobStatus.PARTIAL
    assert services.store.get_panel(job_id, 1).error["code"] == "timed_out"


def test_dead_letter_leaves_a_panel_a_live_worker_holds(services: Services) -> None:
    job_id = _planned(services, panels=1)
    services.store.claim_panel(job_id, 0, "busy-worker", lease_seconds=600)
    handle_dead_letter(services, job_id, 0)
    assert services.store.get_panel(job_id, 0).status == PanelStatus.RENDERING
    assert services.store.get_job(job_id).status == JobStatus.RENDERING


# ---- HTTP routes -----------------------------------------------------------------------


def test_http_cancel_retry_regenerate_routes(services: Services) -> None:
    client = create_app("api", str(SOURCE), "http").test_client()
    auth = {"Authorization": f"Bearer {fake_token('user-1')}"}
    job_id = _planned(services, panels=2)
    assert client.post(f"/jobs/{job_id}:retry", headers=auth).status_code == 409
    response = client.post(f"/jobs/{job_id}:cancel", headers=auth)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    other = {"Authorization": f"Bearer {fake_token('user-2')}"}
    assert client.post(f"/jobs/{job_id}:cancel", headers=other).status_code == 404
    assert client.post(f"/jobs/{job_id}/panels/0:regenerate", headers=auth).status_code == 409
    response = client.post(f"/jobs/{job_id}:retry", headers=auth)
    assert response.status_code == 200 and response.get_json()["status"] == "rendering"
    _render_queued(services, job_id)
    response = client.post(f"/jobs/{job_id}/panels/1:regenerate", headers=auth)
    assert response.status_code == 202
    assert client.get(f"/jobs/{job_id}:cancel", headers=auth).status_code == 405


def test_two_copies_of_a_message_in_one_instance_pay_once(services: Services) -> None:
    import threading

    from panelflow.domain.errors import LeaseHeld

    job_id = _planned(services, panels=1)
    in_provider = threading.Event()
    release = threading.Event()

    def hold(key: str) -> None:
        if key.startswith("panel:"):
            in_provider.set()
            release.wait(5)

    services.images._fail = hold
    outcomes: list[str] = []

    def deliver() -> None:
        try:
            render_panel(services, job_id, 0)
            outcomes.append("ok")
        except LeaseHeld:
            outcomes.append("lease held")

    first = threading.Thread(target=deliver)
    first.start()
    assert in_provider.wait(5)
    deliver()  # the duplicate, same instance (same worker_id), while the first is drawing
    release.set()
    first.join()
    assert sorted(outcomes) == ["lease held", "ok"]
    assert [c for c in services.images.calls if c.startswith("panel:")] == ["panel:0"]
    assert services.store.get_job(job_id).status == JobStatus.COMPLETED
