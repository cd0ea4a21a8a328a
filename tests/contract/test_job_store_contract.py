"""The same assertions against the in-memory fake and the Firestore adapter on the emulator,
so the fake the unit tests trust cannot drift from what production does."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

import pytest

from fakes import InMemoryBlobStore
from fakes.providers import simple_plan
from panelflow.domain.costs import PaidCall
from panelflow.domain.errors import Conflict, LeaseHeld, NotFound
from panelflow.domain.models import (
    Asset,
    Character,
    DialogueLine,
    Job,
    JobStatus,
    PanelAssets,
    PanelStatus,
    StoryPlan,
    TimedLine,
)

pytestmark = pytest.mark.emulators


@pytest.fixture(params=["fake", "gcs"])
def blobs(request: pytest.FixtureRequest):
    if request.param == "fake":
        return InMemoryBlobStore()
    env = request.getfixturevalue("emulator_env")
    from panelflow.adapters.gcs_blobs import GcsBlobStore

    return GcsBlobStore(
        "demo-panelflow", "panelflow-assets", signing_key_file=env["PANELFLOW_SIGNING_KEY_FILE"]
    )


def _job(owner: str = "owner-1", created: float | None = None) -> Job:
    now = time.time() if created is None else created
    return Job(
        job_id=uuid.uuid4().hex,
        owner_uid=owner,
        status=JobStatus.QUEUED,
        style="noir",
        language="en",
        panels_requested=3,
        created_at=now,
        updated_at=now,
    )


def _plan(panels: int = 3) -> StoryPlan:
    ada = Character(name="Ada", description="red coat", voice="female")
    return simple_plan(
        panels, "A title", (ada,), line=lambda i: f"hi {i}", prompt=lambda i: f"prompt {i}"
    )


def _rendering_job(store, panels: int = 3) -> str:
    job = _job()
    store.create_job(job, "story")
    plan = _plan(panels)
    assert store.save_plan(job.job_id, plan, list(plan.characters), plan_ms=12)
    return job.job_id


IMAGE = Asset(path="p/image.png", url="u", content_type="image/png", size=3, width=8, height=6)
AUDIO = Asset(path="p/audio.mp3", url="u", content_type="audio/mpeg", size=4, duration_ms=900)
ASSETS = PanelAssets(IMAGE, AUDIO)


def test_create_get_and_story(store) -> None:
    job = _job()
    store.create_job(job, "Once upon a time.")
    loaded = store.get_job(job.job_id)
    assert loaded.to_dict() == job.to_dict()
    assert store.get_story(job.job_id) == "Once upon a time."
    with pytest.raises(Conflict):
        store.create_job(job, "again")
    assert store.get_job("missing") is None
    with pytest.raises(NotFound):
        store.get_story("missing")
    loaded, story = store.get_job_and_story(job.job_id)
    assert loaded is not None and loaded.to_dict() == job.to_dict()
    assert story == "Once upon a time."
    assert store.get_job_and_story("missing") == (None, None)


def test_delete_job_removes_job_and_story(store) -> None:
    job = _job()
    store.create_job(job, "story")
    store.delete_job(job.job_id)
    assert store.get_job(job.job_id) is None
    with pytest.raises(NotFound):
        store.get_story(job.job_id)
    assert store.get_job_and_story(job.job_id) == (None, None)


def test_delete_job_removes_panels_costs_story_and_key_and_twice_is_harmless(store) -> None:
    from panelflow.domain.costs import PaidCall
    from panelflow.domain.models import IdempotencyRecord

    owner = f"erase-{uuid.uuid4().hex[:8]}"
    job = _job(owner)
    key = IdempotencyRecord(key_id=uuid.uuid4().hex, body_hash="h", expires_at=time.time() + 60)
    job = Job(**{**job.__dict__, "idempotency_key_id": key.key_id})
    store.create_job(job, "story", key)
    plan = _plan(2)
    assert store.save_plan(job.job_id, plan, list(plan.characters), plan_ms=1)
    store.record_costs(job.job_id, [PaidCall(kind="image", provider="x", model="m")])
    store.delete_job(job.job_id, job.idempotency_key_id)
    assert store.get_job(job.job_id) is None
    assert store.list_panels(job.job_id) == [] and store.list_costs(job.job_id) == []
    with pytest.raises(NotFound):
        store.get_story(job.job_id)
    # The key is gone: the same key makes a new job.
    again = _job(owner)
    assert store.create_job(again, "story", key).job_id == again.job_id
    store.delete_job(job.job_id, job.idempotency_key_id)  # twice: harmless


def test_a_record_landing_while_its_job_is_deleted_leaves_no_ledger_entry(
    emulator_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race an account deletion met while panels were being drawn: a worker's record
    commit (its panel's ledger entries with it) landing in the middle of delete_job."""
    from panelflow.adapters.firestore_store import FirestoreJobStore

    store = FirestoreJobStore("demo-panelflow")
    job_id = _rendering_job(store, panels=2)
    claim = store.claim_panel(job_id, 0, "w1", lease_seconds=60)
    paid = [PaidCall("image", "offline", "offline", {"images": 1}, panel_index=0)]
    delete_all = store._delete_all
    recorded: list[bool] = []

    def record_first(refs: list) -> None:
        # The worker's commit lands just before delete_job's first deletion commit.
        if not recorded:
            recorded.append(store.complete_panel(job_id, 0, "w1", ASSETS, claim.token, paid))
        delete_all(refs)

    monkeypatch.setattr(store, "_delete_all", record_first)
    store.delete_job(job_id)
    assert recorded == [True]
    assert store.list_costs(job_id) == [] and store.list_panels(job_id) == []


def test_delete_owner_records_removes_usage_keys_and_stray_stories(store) -> None:
    from panelflow.domain.errors import QuotaExceeded
    from panelflow.domain.models import IdempotencyRecord

    owner = f"erase-{uuid.uuid4().hex[:8]}"
    job = _job(owner)
    key = IdempotencyRecord(key_id=uuid.uuid4().hex, body_hash="h", expires_at=time.time() + 60)
    store.create_job(job, "story", key, quota=_quota(active=1))
    with pytest.raises(QuotaExceeded):
        store.create_job(_job(owner), "b", quota=_quota(active=1))
    store.delete_owner_records(owner)
    with pytest.raises(NotFound):
        store.get_story(job.job_id)
    # Usage and key are gone: a new request is neither refused nor answered with the old job.
    fresh = _job(owner)
    assert store.create_job(fresh, "c", key, quota=_quota(active=2)).job_id == fresh.job_id


def test_transitions_are_guarded(store) -> None:
    job = _job()
    store.create_job(job, "story")
    assert not store.transition_job(job.job_id, [JobStatus.PLANNING], JobStatus.RENDERING)
    assert store.transition_job(
        job.job_id, [JobStatus.QUEUED], JobStatus.FAILED, error={"code": "x", "message": "y"}
    )
    loaded = store.get_job(job.job_id)
    assert loaded.status == JobStatus.FAILED and loaded.error == {"code": "x", "message": "y"}
    assert loaded.finished_at is not None


def test_save_plan_writes_panels_and_moves_to_rendering_once(store) -> None:
    job_id = _rendering_job(store)
    job = store.get_job(job_id)
    assert job.status == JobStatus.RENDERING and job.panel_count == 3 and job.title == "A title"
    assert [c.name for c in job.characters] == ["Ada"]
    panels = store.list_panels(job_id)
    assert [p.index for p in panels] == [0, 1, 2]
    assert panels[1].dialogue == [DialogueLine(speaker="Ada", text="hi 1")]
    assert all(p.status == PanelStatus.PENDING for p in panels)
    assert not store.save_plan(job_id, _plan(5), [], plan_ms=1)
    assert len(store.list_panels(job_id)) == 3


def test_save_plan_writes_the_plannings_paid_calls_only_with_the_plan(store) -> None:
    plan = _plan(2)
    paid = [
        PaidCall("plan", "offline", "offline", {}),
        PaidCall("reference", "offline", "offline", {"images": 1}),
    ]
    job = _job()
    store.create_job(job, "story")
    assert store.save_plan(job.job_id, plan, list(plan.characters), plan_ms=2, costs=paid)
    assert {call.call_id for call in store.list_costs(job.job_id)} == {c.call_id for c in paid}
    # Not saved (the job is no longer queued): none of them either; the caller writes them.
    cancelled = _job()
    store.create_job(cancelled, "story")
    assert store.transition_job(cancelled.job_id, [JobStatus.QUEUED], JobStatus.CANCELLED)
    late = [PaidCall("plan", "offline", "offline", {})]
    assert store.save_plan(cancelled.job_id, plan, [], plan_ms=2, costs=late) is None
    assert store.list_costs(cancelled.job_id) == []


def test_claim_lease_and_duplicates(store) -> None:
    job_id = _rendering_job(store)
    claim = store.claim_panel(job_id, 0, "w1", lease_seconds=60)
    assert claim.acquired and claim.attempt == 1
    with pytest.raises(LeaseHeld):
        store.claim_panel(job_id, 0, "w2", lease_seconds=60)
    # The same owner may claim again (a retry in the same instance).
    assert store.claim_panel(job_id, 0, "w1", lease_seconds=60).attempt == 2
    assert store.complete_panel(job_id, 0, "w1", ASSETS)
    again = store.claim_panel(job_id, 0, "w2", lease_seconds=60)
    assert not again.acquired and again.panel.status == PanelStatus.DONE
    with pytest.raises(NotFound):
        store.claim_panel(job_id, 9, "w1", lease_seconds=60)


def test_a_claim_with_the_plans_version_is_the_same_claim(store) -> None:
    """The version save_plan returns (carried by the panel messages) lets the adapter take
    the lease without reading first; what the claim decides and brings is the same, and a
    stale, foreign or unreadable version only costs the usual read."""
    job = _job()
    store.create_job(job, "story")
    plan = _plan(3)
    planned = store.save_plan(job.job_id, plan, list(plan.characters), plan_ms=12)
    assert isinstance(planned, str) and planned
    job_id = job.job_id
    claim = store.claim_panel(job_id, 1, "w1", 60, planned)
    assert claim.acquired and claim.attempt == 1 and claim.panel.status == PanelStatus.RENDERING
    assert claim.panel.lease_owner == "w1" and claim.panel.lease_expires_at > time.time()
    assert claim.panel.plan() == plan.panels[1]
    assert claim.job is not None and claim.job.status == JobStatus.RENDERING
    assert claim.previous is not None and claim.previous.plan() == plan.panels[0]
    held = store.get_panel(job_id, 1)
    assert held.status == PanelStatus.RENDERING and held.lease_owner == "w1" and held.attempts == 1
    # The adapter took it without reading first (the fake has no round trips to save).
    assert getattr(store, "claims_as_planned", 1) == 1
    # A duplicate delivery of the same message: the lease is held, as without a version.
    with pytest.raises(LeaseHeld):
        store.claim_panel(job_id, 1, "w2", 60, planned)
    # The claim's token records the panel in one commit, as after a claim that read first.
    assert store.complete_panel(job_id, 1, "w1", ASSETS, claim.token)
    late = store.claim_panel(job_id, 1, "w2", 60, planned)
    assert not late.acquired and late.panel.status == PanelStatus.DONE
    # A panel failed (by the dead-letter handler) before any claim is not taken back.
    assert store.fail_panel(job_id, 2, {"code": "c", "message": "m"})
    failed = store.claim_panel(job_id, 2, "w1", 60, planned)
    assert not failed.acquired and store.get_panel(job_id, 2).status == PanelStatus.FAILED
    # Versions that do not match, or do not parse, change nothing but the round trips.
    for version in ("2001-01-01T00:00:00.000001Z", "not a time"):
        other = _rendering_job(store)
        taken = store.claim_panel(other, 0, "w3", 60, version)
        assert taken.acquired and taken.attempt == 1 and taken.job is not None
    with pytest.raises(NotFound):
        store.claim_panel(job_id, 9, "w1", 60, planned)
    assert getattr(store, "claims_as_planned", 1) == 1


def test_a_claim_brings_the_job_and_the_previous_panel_with_it(store) -> None:
    job_id = _rendering_job(store)
    first = store.claim_panel(job_id, 0, "w1", lease_seconds=60)
    assert first.job is not None and first.job.job_id == job_id
    assert first.job.status == JobStatus.RENDERING and first.previous is None
    second = store.claim_panel(job_id, 1, "w1", lease_seconds=60)
    assert second.previous is not None and second.previous.index == 0
    assert second.previous.plan() == store.get_panel(job_id, 0).plan()
    # A duplicate delivery of a finished panel gets the job too (for the final move).
    assert store.complete_panel(job_id, 0, "w1", ASSETS, first.token)
    again = store.claim_panel(job_id, 0, "w2", lease_seconds=60)
    assert not again.acquired and again.job is not None and again.job.job_id == job_id
    # The lease stays the store's: visible to the functions through get_panel.
    held = store.get_panel(job_id, 1)
    assert held.lease_owner == "w1" and held.attempts == 1 and held.lease_expires_at


def test_panel_documents_carry_no_lease_or_worker_fields(store) -> None:
    """What clients read (jobs/{id}/panels/{index}) never names a worker; the lease lives
    in panelLeases/{jobId}-{index}, which the rules deny to clients."""
    if not hasattr(store, "client"):
        # The fake keeps panels as objects; what clients read exists only in Firestore.
        assert store.claim_panel(_rendering_job(store), 0, "w1", 60).acquired
        return
    job_id = _rendering_job(store)
    panels = store.client.collection("jobs").document(job_id).collection("panels")
    leases_collection = store.client.collection("panelLeases")
    worker_fields = {"lease", "attempts", "leaseOwner", "leaseExpiresAt", "owner", "expiresAt"}

    def visible(index: int) -> dict:
        data = panels.document(f"{index:03d}").get().to_dict()
        assert not worker_fields & set(data), data
        return data

    assert visible(0)["status"] == "pending"
    claim = store.claim_panel(job_id, 0, "w-secret", lease_seconds=60)
    assert visible(0)["status"] == "rendering"
    lease = leases_collection.document(f"{job_id}-000").get().to_dict()
    assert lease["owner"] == "w-secret" and lease["attempts"] == 1
    assert lease["expiresAt"] > time.time()
    assert store.complete_panel(job_id, 0, "w-secret", ASSETS, claim.token)
    assert visible(0)["status"] == "done"
    cleared = leases_collection.document(f"{job_id}-000").get().to_dict()
    assert cleared["owner"] is None and cleared["expiresAt"] is None
    assert cleared["attempts"] == 1
    store.claim_panel(job_id, 1, "w-secret", lease_seconds=60)
    assert store.fail_panel(job_id, 1, {"code": "c", "message": "m"})
    assert visible(1)["status"] == "failed"
    # Deleting the job deletes its leases.
    store.delete_job(job_id)
    assert not leases_collection.document(f"{job_id}-000").get().exists
    assert not leases_collection.document(f"{job_id}-001").get().exists


def test_expired_lease_can_be_taken_over(store) -> None:
    job_id = _rendering_job(store)
    first = store.claim_panel(job_id, 1, "w1", lease_seconds=0.001)
    time.sleep(0.01)
    claim = store.claim_panel(job_id, 1, "w2", lease_seconds=60)
    assert claim.acquired and claim.attempt == 2
    # The old owner's late write is ignored, with or without its claim's token; what it
    # paid for is recorded all the same.
    late = PaidCall("image", "offline", "offline", {"images": 1}, panel_index=1)
    assert not store.complete_panel(job_id, 1, "w1", ASSETS, first.token, [late])
    assert not store.complete_panel(job_id, 1, "w1", ASSETS)
    mine = PaidCall("speech", "offline", "offline", {"characters": 9}, panel_index=1)
    assert store.complete_panel(job_id, 1, "w2", ASSETS, claim.token, [mine])
    assert {call.call_id for call in store.list_costs(job_id)} == {late.call_id, mine.call_id}


def test_audio_lines_and_notes_are_stored_with_the_panel(store) -> None:
    job_id = _rendering_job(store, panels=2)
    lines = (TimedLine("narrator", "It rained.", 0, 800), TimedLine("Ada", "hi 0", 1050, 1400))
    spoken = PanelAssets(IMAGE, replace(AUDIO, lines=lines))
    note = {"code": "voice_unavailable", "message": "The offline voice cannot speak 'ja'."}
    silent = PanelAssets(IMAGE, None, (note,))
    for index, assets in enumerate((spoken, silent)):
        store.claim_panel(job_id, index, "w1", lease_seconds=60)
        assert store.complete_panel(job_id, index, "w1", assets)

    first, second = store.get_panel(job_id, 0), store.get_panel(job_id, 1)
    assert first.audio.lines == lines and first.notes == []
    assert second.audio is None and second.notes == [note]


def test_complete_fail_release_and_counts(store) -> None:
    job_id = _rendering_job(store)
    store.claim_panel(job_id, 0, "w1", 60)
    assert store.complete_panel(job_id, 0, "w1", ASSETS)
    assert not store.complete_panel(job_id, 0, "w1", ASSETS)
    store.claim_panel(job_id, 1, "w1", 60)
    assert store.release_panel(job_id, 1, "w1")
    assert store.get_panel(job_id, 1).status == PanelStatus.PENDING
    assert store.fail_panel(job_id, 1, {"code": "c", "message": "m"})
    assert not store.fail_panel(job_id, 1, {"code": "c", "message": "m"})
    assert store.finished_counts(job_id, 3) is None
    assert store.finished_counts(job_id, 2) == (1, 1)
    panel = store.get_panel(job_id, 0)
    assert panel.image == IMAGE and panel.audio == AUDIO and panel.lease_owner is None
    assert store.get_panel(job_id, 1).error == {"code": "c", "message": "m"}


def test_finalize_happens_once_and_only_when_all_finished(store) -> None:
    job_id = _rendering_job(store, panels=2)
    store.claim_panel(job_id, 0, "w1", 60)
    store.complete_panel(job_id, 0, "w1", ASSETS)
    assert store.finished_counts(job_id, 2) is None
    assert store.finalize_job(job_id, 1, 0) is None
    store.fail_panel(job_id, 1, {"code": "c", "message": "m"})
    assert store.finished_counts(job_id, 2) == (1, 1)
    assert store.finalize_job(job_id, 1, 1) == JobStatus.PARTIAL
    assert store.finalize_job(job_id, 1, 1) is None
    job = store.get_job(job_id)
    assert (job.status, job.panels_done, job.panels_failed) == (JobStatus.PARTIAL, 1, 1)


def test_the_final_move_writes_counts_timings_and_keeps_the_plan_time(store) -> None:
    job_id = _rendering_job(store, panels=2)
    for index in range(2):
        store.claim_panel(job_id, index, "w1", 60)
        store.complete_panel(job_id, index, "w1", ASSETS)
    assert store.finalize_job(job_id, 2, 0) == JobStatus.COMPLETED
    job = store.get_job(job_id)
    assert (job.panels_done, job.panels_failed, job.progress, job.error) == (2, 0, 1.0, None)
    assert job.finished_at is not None and job.finished_at == job.updated_at
    assert job.timings["planMs"] == 12
    assert 0 <= job.timings["firstPanelMs"] <= job.timings["totalMs"]


def test_the_final_move_takes_the_first_panel_time_it_is_given(store) -> None:
    """A worker that finished every panel itself knows when the first was done: the store
    takes that time instead of finding it over the panels."""
    job_id = _rendering_job(store, panels=2)
    for index in range(2):
        store.claim_panel(job_id, index, "w1", 60)
        store.complete_panel(job_id, index, "w1", ASSETS)
    created = store.get_job(job_id).created_at
    assert store.finalize_job(job_id, 2, 0, first_done_at=created + 1.25) == JobStatus.COMPLETED
    assert store.get_job(job_id).timings["firstPanelMs"] == 1250


def test_the_final_move_holds_when_the_job_changed_after_a_claim_read_it(store) -> None:
    """The adapter makes the final move on the job as its claim read it, guarded by its
    update time: a job written since is read again, never overwritten blindly."""
    job_id = _rendering_job(store, panels=1)
    claim = store.claim_panel(job_id, 0, "w1", 60)
    assert store.transition_job(job_id, [JobStatus.RENDERING], JobStatus.RENDERING)
    assert store.complete_panel(job_id, 0, "w1", ASSETS, claim.token)
    assert store.finalize_job(job_id, 1, 0) == JobStatus.COMPLETED
    assert store.get_job(job_id).panels_done == 1
    cancelled = _rendering_job(store, panels=1)
    claim = store.claim_panel(cancelled, 0, "w1", 60)
    assert store.transition_job(cancelled, [JobStatus.RENDERING], JobStatus.CANCELLED)
    assert store.complete_panel(cancelled, 0, "w1", ASSETS, claim.token)
    assert store.finalize_job(cancelled, 1, 0) is None
    assert store.get_job(cancelled).status == JobStatus.CANCELLED


class _Closing:
    """A worker's answer to "does this record end the job?" (``ports.Closing``): it knows
    the job has ``panels`` panels and counts those the store says it recorded."""

    def __init__(self, panels: int, first_done_at: float | None = None) -> None:
        self.panels, self.first_done_at = panels, first_done_at
        self.recorded_so_far: dict[int, float] = {}
        self.moved: list[JobStatus] = []

    def outcome(self, recorded: dict[int, float]) -> tuple[int, int, float | None] | None:
        ended = {**self.recorded_so_far, **recorded}
        return (len(ended), 0, self.first_done_at) if len(ended) == self.panels else None

    def recorded(self, panels: dict[int, float]) -> None:
        self.recorded_so_far.update(panels)

    def closed(self, status: JobStatus) -> None:
        self.moved.append(status)


def test_the_record_of_a_jobs_last_panel_ends_the_job_in_the_same_write(store) -> None:
    job_id = _rendering_job(store, panels=2)
    created = store.get_job(job_id).created_at
    claims = [store.claim_panel(job_id, index, "w1", 60) for index in range(2)]
    closing = _Closing(2, first_done_at=created + 1.25)
    assert store.complete_panel(job_id, 0, "w1", ASSETS, claims[0].token, (), closing)
    assert closing.moved == [] and store.get_job(job_id).status == JobStatus.RENDERING
    assert closing.recorded_so_far.keys() == {0}
    assert store.complete_panel(job_id, 1, "w1", ASSETS, claims[1].token, (), closing)
    assert closing.moved == [JobStatus.COMPLETED]
    job = store.get_job(job_id)
    assert (job.status, job.panels_done, job.panels_failed) == (JobStatus.COMPLETED, 2, 0)
    assert job.timings["firstPanelMs"] == 1250 and job.finished_at is not None
    # The move is made once: the usual final move finds nothing left to do.
    assert store.finalize_job(job_id, 2, 0) is None


def test_a_record_never_ends_a_job_that_changed_since_its_claim(store) -> None:
    """The job cancelled after the claim read it: the panel is recorded, the job stays
    cancelled and the worker is told nothing moved."""
    job_id = _rendering_job(store, panels=1)
    claim = store.claim_panel(job_id, 0, "w1", 60)
    assert store.transition_job(job_id, [JobStatus.RENDERING], JobStatus.CANCELLED)
    closing = _Closing(1)
    assert store.complete_panel(job_id, 0, "w1", ASSETS, claim.token, (), closing)
    assert closing.moved == []
    assert store.get_job(job_id).status == JobStatus.CANCELLED
    assert [panel.status for panel in store.list_panels(job_id)] == [PanelStatus.DONE]


def test_a_plan_is_saved_only_on_the_job_as_it_is_when_the_plan_is_saved(store) -> None:
    """The adapter saves the plan on the job as the plan step read it, guarded by its
    update time: a job changed since is read again (a cancelled one gets no plan)."""
    plan = _plan(2)
    job = _job()
    store.create_job(job, "story")
    assert store.get_job_and_story(job.job_id)[1] == "story"
    assert store.transition_job(job.job_id, [JobStatus.QUEUED], JobStatus.QUEUED)
    assert store.save_plan(job.job_id, plan, list(plan.characters), plan_ms=3)
    assert store.get_job(job.job_id).status == JobStatus.RENDERING
    cancelled = _job()
    store.create_job(cancelled, "story")
    store.get_job_and_story(cancelled.job_id)
    assert store.transition_job(cancelled.job_id, [JobStatus.QUEUED], JobStatus.CANCELLED)
    assert store.save_plan(cancelled.job_id, plan, list(plan.characters), plan_ms=3) is None
    assert store.get_job(cancelled.job_id).status == JobStatus.CANCELLED
    assert store.list_panels(cancelled.job_id) == []


def test_a_job_whose_panels_all_failed_ends_failed_with_a_reason(store) -> None:
    job_id = _rendering_job(store, panels=1)
    store.fail_panel(job_id, 0, {"code": "c", "message": "m"})
    assert store.finalize_job(job_id, 0, 1) == JobStatus.FAILED
    job = store.get_job(job_id)
    assert job.error == {
        "code": "all_panels_failed",
        "message": "every panel failed; see each panel's error",
    }
    assert "firstPanelMs" not in job.timings and job.timings["totalMs"] >= 0


def test_concurrent_duplicate_deliveries_finish_the_job_exactly_once(store) -> None:
    panels = 6
    job_id = _rendering_job(store, panels=panels)
    finals: list[JobStatus] = []
    lock = threading.Lock()

    def deliver(index: int, worker: str) -> None:
        try:
            claim = store.claim_panel(job_id, index, worker, 60)
        except LeaseHeld:
            return
        if claim.acquired:
            store.complete_panel(job_id, index, worker, ASSETS, claim.token)
        counts = store.finished_counts(job_id, panels)
        if counts is not None:
            final = store.finalize_job(job_id, *counts)
            if final is not None:
                with lock:
                    finals.append(final)

    threads = [
        threading.Thread(target=deliver, args=(i, f"w{copy}"))
        for i in range(panels)
        for copy in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert finals == [JobStatus.COMPLETED]
    assert store.get_job(job_id).panels_done == panels


def test_a_burst_of_claims_and_records_with_the_plans_version_is_exactly_once(store) -> None:
    """Every panel's message twice at once, with the plan's version: the adapter groups
    the claims and the records that arrive together into shared commits; still one owner
    per panel, every panel recorded once, one final move."""
    panels = 6
    job = _job()
    store.create_job(job, "story")
    plan = _plan(panels)
    planned = store.save_plan(job.job_id, plan, list(plan.characters), plan_ms=1)
    owners: dict[int, list[str]] = {index: [] for index in range(panels)}
    finals: list[JobStatus] = []
    lock = threading.Lock()
    start = threading.Barrier(panels * 2, timeout=10)

    def deliver(index: int, worker: str) -> None:
        start.wait()
        try:
            claim = store.claim_panel(job.job_id, index, worker, 60, planned)
        except LeaseHeld:
            return
        if claim.acquired:
            with lock:
                owners[index].append(worker)
            assert store.complete_panel(job.job_id, index, worker, ASSETS, claim.token)
        counts = store.finished_counts(job.job_id, panels)
        if counts is not None and (final := store.finalize_job(job.job_id, *counts)):
            with lock:
                finals.append(final)

    threads = [
        threading.Thread(target=deliver, args=(index, f"w{index}-{copy}"))
        for index in range(panels)
        for copy in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(taken) == 1 for taken in owners.values()), owners
    assert finals == [JobStatus.COMPLETED]
    assert store.get_job(job.job_id).panels_done == panels
    assert all(panel.status == PanelStatus.DONE for panel in store.list_panels(job.job_id))


def test_list_jobs_is_the_owners_newest_first(store) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    older, newer = _job(owner, created=1000.0), _job(owner, created=2000.0)
    store.create_job(older, "a")
    store.create_job(newer, "b")
    store.create_job(_job("someone-else"), "c")
    assert [j.job_id for j in store.list_jobs(owner)] == [newer.job_id, older.job_id]
    assert [j.job_id for j in store.list_jobs(owner, limit=1)] == [newer.job_id]


def test_blob_store_round_trip(blobs) -> None:
    path = f"jobs/{uuid.uuid4().hex}/image-abc.png"
    assert blobs.exists(path) is None
    stored = blobs.put(path, b"\x89PNG data", "image/png", width=8, height=6)
    assert (stored.path, stored.size, stored.width, stored.height) == (path, 9, 8, 6)
    assert blobs.get(path) == b"\x89PNG data"
    found = blobs.exists(path)
    assert (found.content_type, found.size, found.width, found.height) == ("image/png", 9, 8, 6)
    with pytest.raises(NotFound):
        blobs.get(path + ".missing")


def test_idempotent_create_returns_the_first_job_or_conflicts(store) -> None:
    from panelflow.domain.errors import IdempotencyConflict
    from panelflow.domain.models import IdempotencyRecord

    key = IdempotencyRecord(
        key_id=uuid.uuid4().hex, body_hash="body-1", expires_at=time.time() + 60
    )
    first = _job()
    assert store.create_job(first, "story", key).job_id == first.job_id
    again = store.create_job(_job(), "story", key)
    assert again.job_id == first.job_id
    other_body = IdempotencyRecord(key_id=key.key_id, body_hash="body-2", expires_at=key.expires_at)
    with pytest.raises(IdempotencyConflict):
        store.create_job(_job(), "story", other_body)
    # A key whose job was removed (its start failed) is taken over by the next request.
    store.delete_job(first.job_id, key.key_id)
    fresh = _job()
    assert store.create_job(fresh, "story", key).job_id == fresh.job_id


def test_expired_idempotency_key_is_taken_over(store) -> None:
    from panelflow.domain.models import IdempotencyRecord

    key_id = uuid.uuid4().hex
    old = _job()
    store.create_job(old, "story", IdempotencyRecord(key_id, "b", expires_at=time.time() - 1))
    new = _job()
    renewed = IdempotencyRecord(key_id, "b", expires_at=time.time() + 60)
    assert store.create_job(new, "story", renewed).job_id == new.job_id
    assert store.create_job(_job(), "story", renewed).job_id == new.job_id


def test_requeue_panels_and_regenerate(store) -> None:
    job_id = _rendering_job(store, panels=2)
    for index in (0, 1):
        store.claim_panel(job_id, index, "w1", 60)
    store.complete_panel(job_id, 0, "w1", ASSETS)
    store.fail_panel(job_id, 1, {"code": "c", "message": "m"})
    assert store.finalize_job(job_id, 1, 1) == JobStatus.PARTIAL
    assert not store.requeue_panels(job_id, [1], [JobStatus.RENDERING])
    assert store.requeue_panels(job_id, [1], [JobStatus.PARTIAL])
    job = store.get_job(job_id)
    assert job.status == JobStatus.RENDERING and job.finished_at is None
    panel = store.get_panel(job_id, 1)
    assert (panel.status, panel.error, panel.generation) == (PanelStatus.PENDING, None, 0)
    assert store.requeue_panels(job_id, [0], [JobStatus.RENDERING], regenerate=True)
    assert store.get_panel(job_id, 0).generation == 1
    assert store.get_panel(job_id, 0).status == PanelStatus.PENDING


def test_requeues_bump_the_job_generation(store) -> None:
    job_id = _rendering_job(store, panels=1)
    store.claim_panel(job_id, 0, "w1", 60)
    store.complete_panel(job_id, 0, "w1", ASSETS)
    assert store.finalize_job(job_id, 1, 0) == JobStatus.COMPLETED
    assert store.get_job(job_id).generation == 0
    assert store.requeue_panels(job_id, [0], [JobStatus.COMPLETED], regenerate=True)
    assert store.get_job(job_id).generation == 1


def test_save_plan_gives_panels_the_images_they_start_with(store) -> None:
    job = _job()
    store.create_job(job, "story")
    plan = _plan(2)
    assert store.save_plan(job.job_id, plan, list(plan.characters), 5, images={1: IMAGE})
    panels = store.list_panels(job.job_id)
    assert panels[0].image is None
    assert panels[1].image == Asset.from_dict({**IMAGE.to_dict()})


def test_edit_panel_writes_words_and_requeues_only_when_asked(store) -> None:
    job_id = _rendering_job(store, panels=2)
    for index in (0, 1):
        store.claim_panel(job_id, index, "w1", 60)
        store.complete_panel(job_id, index, "w1", ASSETS)
    assert store.finalize_job(job_id, 2, 0) == JobStatus.COMPLETED
    ended = [JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED]

    # Words only: written, the job stays completed, its generation goes up.
    assert store.edit_panel(job_id, 0, {"caption": "Dawn."}, expected=ended, requeue=False)
    job, panel = store.get_job(job_id), store.get_panel(job_id, 0)
    assert (job.status, job.generation) == (JobStatus.COMPLETED, 1)
    assert (panel.caption, panel.status, panel.image) == ("Dawn.", PanelStatus.DONE, IMAGE)

    # With work to redo: the panel pending (its assets kept for the worker), the job running.
    line = {"speaker": "Ada", "text": "Again!", "side": "left"}
    fields = {"dialogue": [line], "imagePrompt": "a new picture"}
    assert store.edit_panel(job_id, 1, fields, expected=ended, requeue=True)
    job, panel = store.get_job(job_id), store.get_panel(job_id, 1)
    assert (job.status, job.generation, job.finished_at) == (JobStatus.RENDERING, 2, None)
    assert panel.status == PanelStatus.PENDING and panel.image == IMAGE
    assert panel.dialogue == [DialogueLine("Ada", "Again!", "left")]
    assert panel.image_prompt == "a new picture"
    assert store.get_panel(job_id, 0).caption == "Dawn."

    # While it runs, no edit is written.
    assert not store.edit_panel(job_id, 0, {"caption": "No."}, expected=ended, requeue=False)
    assert store.get_panel(job_id, 0).caption == "Dawn."
    assert store.get_job(job_id).generation == 2


def test_expired_leases_and_stale_jobs(store) -> None:
    job_id = _rendering_job(store, panels=2)
    store.claim_panel(job_id, 0, "w1", lease_seconds=0.001)
    store.claim_panel(job_id, 1, "w1", lease_seconds=600)
    time.sleep(0.01)
    expired = [(p.job_id, p.index) for p in store.expired_leases(time.time(), limit=500)]
    assert (job_id, 0) in expired and (job_id, 1) not in expired
    assert store.release_panel(job_id, 0, None)
    assert store.get_panel(job_id, 0).status == PanelStatus.PENDING
    updated = store.get_job(job_id).updated_at
    stale = store.stale_jobs([JobStatus.RENDERING], updated + 1, limit=500)
    assert job_id in [job.job_id for job in stale]
    assert job_id not in [j.job_id for j in store.stale_jobs([JobStatus.RENDERING], updated - 1)]
    assert job_id not in [j.job_id for j in store.stale_jobs([JobStatus.QUEUED], updated + 1)]


# ---- quotas: one usage record per user, charged in the same write as the work ----------------


def _quota(active: int = 0, panels: int = 0, now: float | None = None):
    from panelflow.domain.quotas import Quota

    return Quota(max_active_jobs=active, max_panels_per_day=panels, now=now or time.time())


def test_active_jobs_limit_frees_a_slot_when_a_job_ends(store) -> None:
    from panelflow.domain.errors import QuotaExceeded

    owner = f"quota-{uuid.uuid4().hex[:8]}"
    first, second = _job(owner), _job(owner)
    store.create_job(first, "a", quota=_quota(active=2))
    store.create_job(second, "b", quota=_quota(active=2))
    third = _job(owner)
    with pytest.raises(QuotaExceeded) as refused:
        store.create_job(third, "c", quota=_quota(active=2))
    assert refused.value.limit == "maxActiveJobs" and refused.value.retry_after > 0
    assert store.get_job(third.job_id) is None  # nothing written
    # Another user is not affected.
    store.create_job(_job(f"{owner}-b"), "d", quota=_quota(active=2))
    assert store.transition_job(first.job_id, [JobStatus.QUEUED], JobStatus.CANCELLED)
    assert store.create_job(third, "c", quota=_quota(active=2)).job_id == third.job_id


def test_panels_per_day_limit_resets_the_next_utc_day(store) -> None:
    from panelflow.domain.errors import QuotaExceeded
    from panelflow.domain.quotas import DAY_SECONDS

    owner = f"quota-{uuid.uuid4().hex[:8]}"
    today = (time.time() // DAY_SECONDS) * DAY_SECONDS + 3600  # 01:00 UTC today
    store.create_job(_job(owner), "a", quota=_quota(panels=5, now=today))  # 3 panels each
    refused_job = _job(owner)
    with pytest.raises(QuotaExceeded) as refused:
        store.create_job(refused_job, "b", quota=_quota(panels=5, now=today))
    assert refused.value.limit == "maxPanelsPerDay"
    assert refused.value.retry_after == DAY_SECONDS - 3600  # until midnight UTC
    assert "5 panels a day" in refused.value.message
    assert store.get_job(refused_job.job_id) is None
    tomorrow = today + DAY_SECONDS
    assert store.create_job(refused_job, "b", quota=_quota(panels=5, now=tomorrow))


def test_a_repeated_request_at_the_limit_gets_its_job_back(store) -> None:
    from panelflow.domain.errors import QuotaExceeded
    from panelflow.domain.models import IdempotencyRecord

    owner = f"quota-{uuid.uuid4().hex[:8]}"
    key = IdempotencyRecord(uuid.uuid4().hex, "body", expires_at=time.time() + 60)
    first = _job(owner)
    store.create_job(first, "a", key, quota=_quota(active=1))
    # The same request again (a lost answer) is answered with its job, not refused...
    assert store.create_job(_job(owner), "a", key, quota=_quota(active=1)).job_id == first.job_id
    # ...and was not charged twice: a new request is refused for the one running job only.
    with pytest.raises(QuotaExceeded):
        store.create_job(_job(owner), "b", quota=_quota(active=1))


def test_charge_usage_counts_panels_and_slots_of_jobs_running_again(store) -> None:
    from panelflow.domain.errors import QuotaExceeded

    owner = f"quota-{uuid.uuid4().hex[:8]}"
    running, ended = _job(owner), _job(owner)
    store.create_job(running, "a", quota=_quota(active=1, panels=10))
    store.create_job(ended, "b")
    store.transition_job(ended.job_id, [JobStatus.QUEUED], JobStatus.FAILED)
    # The running job may order more panels: it holds its slot already.
    store.charge_usage(owner, running.job_id, 4, _quota(active=1, panels=10))
    with pytest.raises(QuotaExceeded) as slot:
        store.charge_usage(owner, ended.job_id, 1, _quota(active=1, panels=10))
    assert slot.value.limit == "maxActiveJobs"
    with pytest.raises(QuotaExceeded) as panels:
        store.charge_usage(owner, running.job_id, 4, _quota(active=1, panels=10))
    assert panels.value.limit == "maxPanelsPerDay"  # 3 + 4 ordered, 4 more asked
    store.charge_usage(owner, running.job_id, 3, _quota(active=1, panels=10))


def test_concurrent_starts_never_exceed_the_active_limit(store) -> None:
    from panelflow.domain.errors import QuotaExceeded

    owner = f"quota-{uuid.uuid4().hex[:8]}"
    outcomes: list[str] = []
    lock = threading.Lock()

    def start() -> None:
        try:
            store.create_job(_job(owner), "story", quota=_quota(active=3, panels=1000))
            outcome = "created"
        except QuotaExceeded:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] * 3 + ["refused"] * 5
    assert len(store.list_jobs(owner, limit=50)) == 3


# ---- signed asset links ------------------------------------------------------------------------


def test_delete_prefix_removes_exactly_that_folder(blobs) -> None:
    job = uuid.uuid4().hex
    for name in ("a.png", "panels/000/b.mp3"):
        blobs.put(f"jobs/{job}/{name}", b"x", "image/png")
    blobs.put(f"jobs/{job}0/kept.png", b"x", "image/png")
    assert blobs.delete_prefix(f"jobs/{job}/") == 2
    assert blobs.exists(f"jobs/{job}/a.png") is None
    assert blobs.exists(f"jobs/{job}0/kept.png") is not None
    assert blobs.delete_prefix(f"jobs/{job}/") == 0
    with pytest.raises(ValueError):
        blobs.delete_prefix(f"jobs/{job}")


def test_signed_urls_expire_and_carry_their_lifetime(blobs) -> None:
    import calendar
    from urllib.parse import parse_qs, urlsplit

    import requests

    path = f"jobs/{uuid.uuid4().hex}/image-abc.png"
    stored = blobs.put(path, b"\x89PNG data", "image/png", width=8, height=6)
    assert stored.url == ""  # stored assets carry no link: links are signed per read
    before = time.time()
    signed = blobs.signed_url(path, 900)
    assert before + 899 <= signed.expires_at <= time.time() + 901
    if isinstance(blobs, InMemoryBlobStore):
        return
    query = parse_qs(urlsplit(signed.url).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["900"]
    signed_at = calendar.timegm(time.strptime(query["X-Goog-Date"][0], "%Y%m%dT%H%M%SZ"))
    assert abs(signed_at - before) < 5
    assert requests.get(signed.url, timeout=10).content == b"\x89PNG data"
    # The Storage emulator of the local stack refuses what Cloud Storage refuses.
    unsigned = requests.get(signed.url.split("?")[0], timeout=10)
    assert unsigned.status_code == 403 and b"AccessDenied" in unsigned.content
    forged = requests.get(signed.url.replace(path, path.replace("abc", "abd")), timeout=10)
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    short = blobs.signed_url(path, 1)
    time.sleep(2.1)
    expired = requests.get(short.url, timeout=10)
    assert expired.status_code == 400 and b"ExpiredToken" in expired.content


def _race_retries_against_starts(store, services, request) -> tuple[list, list[str], list]:
    """One round: 4 ended jobs retried while 4 new ones start, all released at once."""
    from panelflow.domain.errors import Conflict, QuotaExceeded, TransientError
    from panelflow.services.control import retry_job
    from panelflow.services.jobs import start_job

    owner = f"race-{uuid.uuid4().hex[:8]}"
    ended = []
    for _ in range(4):  # ended jobs with no panels: a retry plans them again
        job = _job(owner)
        store.create_job(job, "story")
        store.transition_job(job.job_id, [JobStatus.QUEUED], JobStatus.FAILED)
        ended.append(job.job_id)
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def order(action) -> None:
        barrier.wait()
        try:
            action()
            outcome = "ok"
        except QuotaExceeded:
            outcome = "refused"
        except (Conflict, TransientError):
            outcome = "raced"
        with lock:
            outcomes.append(outcome)

    actions = [lambda j=j: retry_job(services, owner, j) for j in ended] + [
        lambda: start_job(services, owner, request) for _ in range(4)
    ]
    threads = [threading.Thread(target=order, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running = [j for j in store.list_jobs(owner, limit=50) if not j.status.terminal]
    return running, outcomes, ended


def test_retries_and_starts_hammered_together_never_run_more_than_the_limit(store) -> None:
    """A retry moves its job back to running in the same guarded write as the usage record:
    a start that reads the usage meanwhile cannot see the job as ended and take its slot."""
    from fakes import RecordingQueue
    from panelflow.bootstrap import Services
    from panelflow.domain.models import JobRequest
    from panelflow.settings import Settings

    limit = 3
    settings = Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "demo-panelflow", "PANELFLOW_MAX_PANELS_PER_DAY": "0"}
    )
    assert settings.max_active_jobs == limit
    services = Services(settings, store=store, queue=RecordingQueue(), blobs=InMemoryBlobStore())
    request = JobRequest(story="A story.", style="noir", panels=3, language="en")
    figures = {"rounds": 0, "started": 0, "retried": 0, "refused": 0, "raced": 0, "peak": 0}
    for _ in range(4):
        running, outcomes, ended = _race_retries_against_starts(store, services, request)
        assert len(running) <= limit, (len(running), outcomes)
        assert outcomes.count("ok") == len(running)
        figures["rounds"] += 1
        figures["peak"] = max(figures["peak"], len(running))
        figures["retried"] += sum(1 for j in running if j.job_id in ended)
        figures["started"] += sum(1 for j in running if j.job_id not in ended)
        figures["refused"] += outcomes.count("refused")
        figures["raced"] += outcomes.count("raced")
    print(f"retry/start race ({type(store).__name__}): {figures}")
    assert figures["peak"] == limit


def test_expired_keys_usage_and_stories_are_purged_and_nothing_else(store) -> None:
    """What Firestore's TTL policies delete in production, the sweeper deletes locally."""
    from panelflow.domain.models import IdempotencyRecord
    from panelflow.domain.quotas import DAY_SECONDS

    now = time.time()
    owner = f"ttl-{uuid.uuid4().hex[:8]}"
    job = _job(owner)
    key = IdempotencyRecord(key_id=uuid.uuid4().hex, body_hash="h", expires_at=now + 3600)
    store.create_job(job, "the story", key, quota=_quota(active=3, now=now))
    store.transition_job(job.job_id, [JobStatus.QUEUED], JobStatus.CANCELLED)
    store.purge_expired(now + 60)
    assert store.get_story(job.job_id) == "the story"  # nothing expired yet
    store.purge_expired(now + 2 * 3600)  # the key expired: a new request makes a new job
    again = _job(owner)
    assert store.create_job(again, "x", key, quota=_quota(active=3, now=now)).job_id == again.job_id
    store.purge_expired(now + 89 * DAY_SECONDS)
    assert store.get_story(job.job_id) == "the story"  # kept 90 days after the job ended
    store.purge_expired(now + 91 * DAY_SECONDS)
    with pytest.raises(NotFound):
        store.get_story(job.job_id)
    assert store.get_job(job.job_id) is not None  # the comic stays until its owner deletes it
