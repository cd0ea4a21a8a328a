"""The services end to end on fakes: start, plan, render, finish, dead letters."""

from __future__ import annotations

import threading

import pytest

from fakes import CountingImageGenerator, CountingVoice
from panelflow.bootstrap import Services
from panelflow.domain.errors import ContentBlocked, PlanningFailed, TransientError
from panelflow.domain.models import JobRequest, JobStatus, PanelStatus
from panelflow.services.dead_letters import handle_dead_letter
from panelflow.services.jobs import start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel


def _start(services: Services, panels: int = 3) -> str:
    request = JobRequest(
        story="Ada met Bo. They talked.", style="noir", panels=panels, language="en"
    )
    return start_job(services, "user-1", request).job_id


def _run_all(services: Services, job_id: str) -> None:
    plan_job(services, job_id)
    for queued_job, index in list(services.queue.panels):
        if queued_job == job_id:
            render_panel(services, job_id, index)


def test_start_job_stores_the_job_and_queues_planning_only(services: Services) -> None:
    job_id = _start(services)
    job = services.store.get_job(job_id)
    assert job is not None and job.status == JobStatus.QUEUED and job.owner_uid == "user-1"
    assert services.store.get_story(job_id) == "Ada met Bo. They talked."
    assert services.queue.plans == [job_id]
    assert services.planner.calls == []  # no model call inside the request


def test_start_job_leaves_nothing_behind_when_publishing_fails(services: Services) -> None:
    services.queue.fail_with = TransientError("pubsub down")
    with pytest.raises(TransientError):
        _start(services)
    assert services.store.jobs == {}
    assert services.store.stories == {}


def test_plan_publishes_one_message_per_panel_and_stores_reference_sheets(
    services: Services,
) -> None:
    job_id = _start(services, panels=4)
    plan_job(services, job_id)
    job = services.store.get_job(job_id)
    assert job.status == JobStatus.RENDERING and job.panel_count == 4
    assert services.queue.panels == [(job_id, i) for i in range(4)]
    # Each message carries the version the plan was saved with, for a claim without a read.
    assert services.queue.versions == [f"plan-{services.store.plan_versions}"] * 4
    # Sheets are drawn (and paid) only for characters a panel shows.
    shown = {name for panel in services.store.list_panels(job_id) for name in panel.characters}
    assert shown
    assert all(bool(c.reference_path) is (c.name in shown) for c in job.characters)
    assert all(services.blobs.exists(c.reference_path) for c in job.characters if c.name in shown)


def test_plan_redelivery_republishes_only_unfinished_panels(services: Services) -> None:
    job_id = _start(services, panels=3)
    plan_job(services, job_id)
    render_panel(services, job_id, 0)
    services.queue.panels.clear()
    services.queue.versions.clear()
    plan_job(services, job_id)
    assert services.queue.panels == [(job_id, 1), (job_id, 2)]
    # Panels may have changed since the plan: a redelivery's messages carry no version.
    assert services.queue.versions == [None, None]
    assert len(services.planner.calls) == 1


def test_the_plannings_paid_calls_are_written_with_the_plan_or_else_on_their_own(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = services.store
    job_id = _start(services)
    plan_job(services, job_id)
    assert {call.kind for call in store.list_costs(job_id)} == {"plan", "reference"}
    save_plan = store.save_plan

    def cancelled_first(job: str, *args, **kwargs):
        store.transition_job(job, [JobStatus.QUEUED], JobStatus.CANCELLED)
        return save_plan(job, *args, **kwargs)

    # Cancelled while it was being planned: no plan, no panels, the calls paid all the same.
    monkeypatch.setattr(store, "save_plan", cancelled_first)
    cancelled = _start(services)
    plan_job(services, cancelled)
    assert store.get_job(cancelled).status == JobStatus.CANCELLED
    assert store.list_panels(cancelled) == [] and services.queue.panels[3:] == []
    assert {call.kind for call in store.list_costs(cancelled)} == {"plan", "reference"}

    # The save fails: raised for redelivery, and the calls are written before that.
    def failing(*_args, **_kwargs):
        raise TransientError("firestore down")

    monkeypatch.setattr(store, "save_plan", failing)
    unsaved = _start(services)
    with pytest.raises(TransientError):
        plan_job(services, unsaved)
    assert {call.kind for call in store.list_costs(unsaved)} == {"plan", "reference"}


def test_planning_failure_fails_the_job_with_a_readable_error(services: Services) -> None:
    services.planner._fail = lambda _key: PlanningFailed("the story has no sentences")
    job_id = _start(services)
    plan_job(services, job_id)
    job = services.store.get_job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error == {"code": "planning_failed", "message": "the story has no sentences"}
    assert services.queue.panels == []


def test_transient_planning_error_is_raised_for_redelivery(services: Services) -> None:
    services.planner._fail = lambda _key: TransientError("busy")
    job_id = _start(services)
    with pytest.raises(TransientError):
        plan_job(services, job_id)
    assert services.store.get_job(job_id).status == JobStatus.QUEUED


def test_all_panels_done_completes_the_job_exactly_once(services: Services) -> None:
    job_id = _start(services, panels=3)
    _run_all(services, job_id)
    job = services.store.get_job(job_id)
    assert job.status == JobStatus.COMPLETED
    assert (job.panels_done, job.panels_failed) == (3, 0)
    assert services.store.final_transitions == [(job_id, JobStatus.COMPLETED)]
    for panel in services.store.list_panels(job_id):
        assert panel.status == PanelStatus.DONE
        assert panel.image is not None and services.blobs.exists(panel.image.path)
        assert panel.audio is not None and panel.audio.duration_ms > 0


def test_duplicate_delivery_pays_nothing_and_counts_nothing_twice(services: Services) -> None:
    job_id = _start(services, panels=2)
    _run_all(services, job_id)
    calls = (len(services.images.calls), len(services.voice.calls))
    for index in (0, 1, 0):
        render_panel(services, job_id, index)
    assert (len(services.images.calls), len(services.voice.calls)) == calls
    assert services.store.final_transitions == [(job_id, JobStatus.COMPLETED)]


def test_retry_after_a_crash_reuses_stored_assets(services: Services) -> None:
    job_id = _start(services, panels=1)
    plan_job(services, job_id)
    # The first attempt stored its image, then the voice failed transiently.
    services.voice._fail = lambda _key: TransientError("tts busy")
    with pytest.raises(TransientError):
        render_panel(services, job_id, 0)
    assert services.store.get_panel(job_id, 0).status == PanelStatus.PENDING
    services.voice._fail = None
    render_panel(services, job_id, 0)
    sheets = [call for call in services.images.calls if call.startswith("sheet:")]
    assert len(services.images.calls) - len(sheets) == 1  # one panel image: not paid twice
    assert services.store.get_job(job_id).status == JobStatus.COMPLETED


def test_blocked_image_fails_only_that_panel_and_the_job_ends_partial(services: Services) -> None:
    services.images._fail = (
        lambda key: ContentBlocked("the image was blocked") if key == "panel:1" else None
    )
    job_id = _start(services, panels=3)
    _run_all(services, job_id)
    panels = services.store.list_panels(job_id)
    assert [p.status for p in panels] == [PanelStatus.DONE, PanelStatus.FAILED, PanelStatus.DONE]
    assert panels[1].error["code"] == "content_blocked"
    assert panels[1].error["message"] == "the image was blocked"
    job = services.store.get_job(job_id)
    assert job.status == JobStatus.PARTIAL and (job.panels_done, job.panels_failed) == (2, 1)


def test_image_and_audio_are_made_concurrently(services: Services) -> None:
    both_running = threading.Barrier(2, timeout=5)

    def wait_for_the_other(_key: str) -> None:
        if not _key.startswith("sheet:"):
            both_running.wait()  # breaks (and fails the panel) if the two calls run in turn

    services.images = CountingImageGenerator(fail=wait_for_the_other)
    services.voice = CountingVoice(fail=wait_for_the_other)
    job_id = _start(services, panels=1)
    _run_all(services, job_id)
    assert services.store.get_job(job_id).status == JobStatus.COMPLETED


def test_dead_letter_fails_the_panel_and_finishes_the_job(services: Services) -> None:
    job_id = _start(services, panels=2)
    plan_job(services, job_id)
    render_panel(services, job_id, 0)
    handle_dead_letter(services, job_id, 1)
    job = services.store.get_job(job_id)
    assert job.status == JobStatus.PARTIAL
    assert services.store.get_panel(job_id, 1).error["code"] == "retries_exhausted"


def test_dead_lettered_plan_fails_the_job(services: Services) -> None:
    job_id = _start(services)
    handle_dead_letter(services, job_id, None)
    job = services.store.get_job(job_id)
    assert job.status == JobStatus.FAILED and job.error["code"] == "planning_retries_exhausted"


def test_message_for_a_finished_job_does_nothing(services: Services) -> None:
    job_id = _start(services, panels=1)
    _run_all(services, job_id)
    calls = len(services.images.calls)
    plan_job(services, job_id)
    render_panel(services, job_id, 0)
    assert len(services.images.calls) == calls
