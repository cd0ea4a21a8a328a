"""The rules adapters and fakes share: leases, the final move, asset names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from panelflow.domain import assets, leases
from panelflow.domain.errors import LeaseHeld
from panelflow.domain.finishing import ALL_PANELS_FAILED, final_move
from panelflow.domain.models import (
    Character,
    DialogueLine,
    Job,
    JobStatus,
    Panel,
    PanelPlan,
    PanelStatus,
    SpeechLine,
)


def _panel(status: PanelStatus = PanelStatus.PENDING, **fields: object) -> Panel:
    return Panel(job_id="job-1", index=1, status=status, **fields)


def _job(status: JobStatus = JobStatus.RENDERING, panels: int = 3) -> Job:
    return Job(
        job_id="job-1",
        owner_uid="user-1",
        status=status,
        style="noir",
        language="en",
        panels_requested=panels,
        panel_count=panels,
        created_at=1000.0,
        timings={"planMs": 40},
    )


# ---- leases -----------------------------------------------------------------------------


def test_a_pending_panel_is_claimed_with_one_more_attempt_and_a_lease() -> None:
    claim = leases.claim(_panel(attempts=1), "w1", lease_seconds=60, now=100.0)
    assert claim.acquired and claim.attempt == 2
    assert claim.panel.status == PanelStatus.RENDERING
    assert (claim.panel.lease_owner, claim.panel.lease_expires_at) == ("w1", 160.0)


def test_a_finished_panel_is_not_claimed() -> None:
    claim = leases.claim(_panel(PanelStatus.DONE, attempts=1), "w1", 60, now=100.0)
    assert not claim.acquired and claim.attempt == 1
    assert claim.panel.status == PanelStatus.DONE


def test_a_live_lease_of_another_owner_is_held_until_it_expires() -> None:
    held = _panel(PanelStatus.RENDERING, attempts=1, lease_owner="w1", lease_expires_at=160.0)
    with pytest.raises(LeaseHeld):
        leases.claim(held, "w2", 60, now=159.0)
    assert leases.claim(held, "w1", 60, now=159.0).acquired  # its own owner may claim again
    taken = leases.claim(held, "w2", 60, now=161.0)
    assert taken.acquired and taken.panel.lease_owner == "w2" and taken.attempt == 2


def test_live_and_expired_leases() -> None:
    held = _panel(PanelStatus.RENDERING, lease_owner="w1", lease_expires_at=160.0)
    assert leases.lease_is_live(held, 159.0) and not leases.lease_expired(held, 159.0)
    assert leases.lease_expired(held, 161.0) and not leases.lease_is_live(held, 161.0)
    assert not leases.lease_is_live(_panel(), 0.0) and not leases.lease_expired(_panel(), 1e9)


def test_only_the_holder_or_nobody_in_particular_may_change_an_unfinished_panel() -> None:
    assert leases.may_change(PanelStatus.RENDERING, "w1", "w1")
    assert not leases.may_change(PanelStatus.RENDERING, "w1", "w2")
    assert leases.may_change(PanelStatus.RENDERING, "w1", None)
    assert not leases.may_change(PanelStatus.DONE, "w1", "w1")
    assert not leases.may_change(PanelStatus.FAILED, None, None)


# ---- the final move -----------------------------------------------------------------------


def test_the_final_move_records_counts_and_timings() -> None:
    move = final_move(_job(), done=2, failed=1, now=1012.5, first_done_at=1003.25)
    assert move is not None
    assert (move.status, move.panels_done, move.panels_failed) == (JobStatus.PARTIAL, 2, 1)
    assert (move.total_ms, move.first_panel_ms, move.error) == (12500, 3250, None)
    assert move.fields() == {
        "status": "partial",
        "panelsDone": 2,
        "panelsFailed": 1,
        "progress": 1.0,
        "finishedAt": 1012.5,
        "updatedAt": 1012.5,
        "timings.totalMs": 12500,
        "timings.firstPanelMs": 3250,
    }
    job = _job()
    move.apply(job)
    assert job.status == JobStatus.PARTIAL and job.progress == 1.0
    assert job.timings == {"planMs": 40, "totalMs": 12500, "firstPanelMs": 3250}
    assert job.finished_at == job.updated_at == 1012.5


def test_a_job_whose_panels_all_failed_fails_with_a_readable_error() -> None:
    move = final_move(_job(panels=2), done=0, failed=2, now=1001.0, first_done_at=None)
    assert move is not None and move.status == JobStatus.FAILED
    assert move.fields()["error"] == ALL_PANELS_FAILED
    assert "timings.firstPanelMs" not in move.fields()


def test_no_final_move_unless_rendering_and_every_panel_counted() -> None:
    assert final_move(_job(), done=2, failed=0, now=1.0, first_done_at=None) is None
    assert final_move(_job(JobStatus.CANCELLED), 3, 0, now=1.0, first_done_at=None) is None
    assert final_move(_job(JobStatus.COMPLETED), 3, 0, now=1.0, first_done_at=None) is None


# ---- asset names ----------------------------------------------------------------------------

ADA = Character(name="Ada Lovelace", description="red coat", voice="female")
PLAN = PanelPlan(
    index=1,
    scene="a harbour at night",
    caption="Ada waits.",
    narration="Ada waits.",
    dialogue=(DialogueLine(speaker="Ada", text="Late again."),),
    characters=("Ada",),
    image_prompt="",
)


def test_engine_names_carry_the_provider_the_model_and_the_version() -> None:
    assert assets.image_engine("google", "gemini-3-image") == "google-gemini-3-image-1"
    assert assets.image_engine("offline", "gemini-3-image") == "offline-1"
    assert assets.voice_engine("google") == "google-1"


def test_asset_names_are_stable_across_releases() -> None:
    # A changed name would make every redelivery after a deploy pay for its assets again.
    job = _job()
    panel = Panel.from_plan("job-1", PLAN)
    panel.generation = 2
    lines = [SpeechLine(text="Ada waits."), SpeechLine("Late again.", "Ada", "female")]
    assert (
        assets.panel_image_path(job, panel, PLAN, [ADA], "offline-1")
        # Changed once, when words left the image's name (lettering is a layer).
        == "jobs/job-1/panels/001/image-a6fc727c9f8bdfbb.png"
    )
    assert (
        assets.panel_audio_path(job, panel, lines, "offline-1")
        == "jobs/job-1/panels/001/audio-a6e8b0d060d5d63c.mp3"
    )
    assert (
        assets.character_sheet_path("job-1", ADA, "noir", "offline-1")
        == "jobs/job-1/characters/ada-lovelace-11954cbd4751df1f.png"
    )


def test_words_never_rename_an_image_but_a_prompt_does() -> None:
    job, panel = _job(), Panel.from_plan("job-1", PLAN)
    first = assets.panel_image_path(job, panel, PLAN, [ADA], "offline-1")
    reworded = replace(
        PLAN, caption="Ada, later.", dialogue=(DialogueLine("Ada", "Late!", side="left"),)
    )
    assert assets.panel_image_path(job, panel, reworded, [ADA], "offline-1") == first
    redrawn = replace(PLAN, image_prompt="Ada on the pier under a full moon")
    assert assets.panel_image_path(job, panel, redrawn, [ADA], "offline-1") != first


def test_a_regenerated_panel_gets_new_asset_names() -> None:
    job, panel = _job(), Panel.from_plan("job-1", PLAN)
    first = assets.panel_image_path(job, panel, PLAN, [ADA], "offline-1")
    panel.generation += 1
    assert assets.panel_image_path(job, panel, PLAN, [ADA], "offline-1") != first
