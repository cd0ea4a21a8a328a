"""Editing a finished panel and translating a comic: only what changed is made again.

The providers are fakes that count their calls, so each test states exactly which paid
calls an edit or a translation made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from fakes.auth import fake_token
from fakes.providers import CountingImageGenerator, CountingVoice
from fakes.services import fake_services
from fakes.stores import InMemoryBlobStore, InMemoryJobStore, RecordingQueue
from panelflow import bootstrap
from panelflow.bootstrap import Services
from panelflow.domain.editing import PanelEdit
from panelflow.domain.errors import Conflict, NotFound, QuotaExceeded, ValidationFailed
from panelflow.domain.models import DialogueLine, JobRequest, JobStatus, PanelStatus
from panelflow.services.editing import edit_panel
from panelflow.services.jobs import job_view, start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.services.translation import start_translation
from panelflow.settings import Settings

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
OWNER = "owner-1"
AUTH = {"Authorization": f"Bearer {fake_token(OWNER)}"}


def _parts(services: Services) -> tuple[InMemoryJobStore, RecordingQueue, InMemoryBlobStore]:
    store, queue, blobs = services.store, services.queue, services.blobs
    assert isinstance(store, InMemoryJobStore) and isinstance(queue, RecordingQueue)
    assert isinstance(blobs, InMemoryBlobStore)
    return store, queue, blobs


def _counters(services: Services) -> tuple[CountingImageGenerator, CountingVoice]:
    images, voice = services.images, services.voice
    assert isinstance(images, CountingImageGenerator) and isinstance(voice, CountingVoice)
    return images, voice


def _drain(services: Services) -> None:
    """Delivers every panel message published so far, as the worker subscription would."""
    _, queue, _ = _parts(services)
    while queue.panels:
        job_id, index = queue.panels.pop(0)
        render_panel(services, job_id, index)


def _finished(services: Services, panels: int = 2, **request: Any) -> str:
    """A completed comic, with the provider counters and the queue emptied."""
    story = request.pop("story", "Ada met Bo at the harbour. They sailed at dawn.")
    job = start_job(
        services,
        OWNER,
        JobRequest(story=story, panels=panels, language="en", **{"style": "noir", **request}),
    )
    plan_job(services, job.job_id)
    _drain(services)
    stored = services.store.get_job(job.job_id)
    assert stored is not None and stored.status == JobStatus.COMPLETED
    images, voice = _counters(services)
    images.calls.clear()
    voice.calls.clear()
    return job.job_id


def _kinds(services: Services, job_id: str) -> dict[str, int]:
    summary = job_view(services, services.store.get_job(job_id))["cost"]  # type: ignore[arg-type]
    return {kind: entry["calls"] for kind, entry in summary["byKind"].items()}


# ---- edits: only what changed is made again ---------------------------------------------


def test_a_dialogue_edit_re_speaks_the_panel_and_draws_nothing(services: Services) -> None:
    job_id = _finished(services)
    before = services.store.get_panel(job_id, 1)
    generation = services.store.get_job(job_id).generation  # type: ignore[union-attr]
    costs_before = _kinds(services, job_id)
    edit = PanelEdit(dialogue=(DialogueLine("Bo", "We sail at dawn!", side="right"),))

    view = edit_panel(services, OWNER, job_id, 1, edit)
    assert view["redo"] == "speech" and view["status"] == "pending"
    assert services.store.get_job(job_id).status == JobStatus.RENDERING  # type: ignore[union-attr]
    _drain(services)

    images, voice = _counters(services)
    assert images.calls == [] and len(voice.calls) == 1  # 0 image calls, 1 speech call
    after = services.store.get_panel(job_id, 1)
    assert after is not None and before is not None and after.status == PanelStatus.DONE
    assert after.dialogue == [DialogueLine("Bo", "We sail at dawn!", "right")]
    assert after.image == before.image  # the same picture, under the same name
    assert after.audio is not None and before.audio is not None
    assert after.audio.path != before.audio.path
    job = services.store.get_job(job_id)
    assert job is not None and job.status == JobStatus.COMPLETED
    assert job.generation == generation + 1
    costs_after = _kinds(services, job_id)
    assert costs_after["speech"] == costs_before["speech"] + 1
    assert costs_after["image"] == costs_before["image"]


def test_an_image_prompt_edit_redraws_and_keeps_the_audio(services: Services) -> None:
    job_id = _finished(services)
    before = services.store.get_panel(job_id, 0)
    view = edit_panel(
        services, OWNER, job_id, 0, PanelEdit(image_prompt="Ada at the helm in a storm")
    )
    assert view["redo"] == "image"
    _drain(services)
    images, voice = _counters(services)
    assert images.calls == ["panel:0"] and voice.calls == []  # 1 image call, no speech
    after = services.store.get_panel(job_id, 0)
    assert after is not None and before is not None
    assert after.audio == before.audio
    assert after.image is not None and before.image is not None
    assert after.image.path != before.image.path


def test_words_and_prompt_together_redo_both(services: Services) -> None:
    job_id = _finished(services)
    edit = PanelEdit(narration="A storm rose.", image_prompt="Waves over the bow")
    assert edit_panel(services, OWNER, job_id, 0, edit)["redo"] == "both"
    _drain(services)
    images, voice = _counters(services)
    assert images.calls == ["panel:0"] and len(voice.calls) == 1


def test_an_unspoken_caption_is_only_rewritten(services: Services) -> None:
    # The panel has narration, so its caption is not spoken: nothing is made again.
    job_id = _finished(services)
    _, queue, _ = _parts(services)
    view = edit_panel(services, OWNER, job_id, 0, PanelEdit(caption="Dawn."))
    assert view["redo"] == "nothing" and view["caption"] == "Dawn." and view["status"] == "done"
    assert queue.panels == []
    job = services.store.get_job(job_id)
    assert job is not None and job.status == JobStatus.COMPLETED and job.generation == 1
    images, voice = _counters(services)
    assert images.calls == [] and voice.calls == []


def test_a_failed_panel_edited_is_made_again_whole(services: Services) -> None:
    job_id = _finished(services)
    store, _, blobs = _parts(services)
    # As if its image and audio had never been made: the panel failed.
    blobs.delete_prefix(f"jobs/{job_id}/panels/001/")
    store.panels[job_id][1].status = PanelStatus.FAILED
    store.panels[job_id][1].image = store.panels[job_id][1].audio = None
    store.jobs[job_id].status = JobStatus.PARTIAL
    assert edit_panel(services, OWNER, job_id, 1, PanelEdit(caption="Again."))["redo"] == "both"
    _drain(services)
    images, voice = _counters(services)
    assert images.calls == ["panel:1"] and len(voice.calls) == 1
    assert services.store.get_job(job_id).status == JobStatus.COMPLETED  # type: ignore[union-attr]


def test_edits_to_running_or_foreign_panels_are_refused(services: Services) -> None:
    job_id = _finished(services)
    edit_panel(services, OWNER, job_id, 0, PanelEdit(narration="Changed."))
    # The panel is queued again: neither it nor another panel of the job can be edited.
    with pytest.raises(Conflict):
        edit_panel(services, OWNER, job_id, 0, PanelEdit(narration="Again."))
    with pytest.raises(Conflict):
        edit_panel(services, OWNER, job_id, 1, PanelEdit(narration="Other."))
    _drain(services)
    with pytest.raises(NotFound):
        edit_panel(services, "someone-else", job_id, 0, PanelEdit(narration="Mine now."))
    with pytest.raises(NotFound):
        edit_panel(services, OWNER, job_id, 7, PanelEdit(narration="No such panel."))


def test_a_re_speak_is_counted_by_the_daily_quota() -> None:
    settings = Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "demo-unit", "PANELFLOW_MAX_PANELS_PER_DAY": "2"}
    )
    services = fake_services(settings)
    job_id = _finished(services, panels=2)  # two panels ordered: the day is used up
    with pytest.raises(QuotaExceeded):
        edit_panel(services, OWNER, job_id, 0, PanelEdit(narration="One more."))
    # Refused before anything was written; a change that needs no work is free.
    assert services.store.get_panel(job_id, 0).narration != "One more."  # type: ignore[union-attr]
    assert edit_panel(services, OWNER, job_id, 0, PanelEdit(caption="Free."))["redo"] == "nothing"


def test_edit_validation_names_each_bad_field(services: Services) -> None:
    job_id = _finished(services)
    client = create_app("api", str(SOURCE), "http").test_client()

    def errors(body: object) -> list[str]:
        reply = client.patch(f"/jobs/{job_id}/panels/0", json=body, headers=AUTH)
        assert reply.status_code == 400, reply.get_json()
        return [item["field"] for item in reply.get_json()["error"]["errors"]]

    assert errors({}) == ["body"]
    assert errors({"caption": None}) == ["caption"]
    assert errors({"caption": "x" * 161}) == ["caption"]
    assert errors({"narration": "x" * 401}) == ["narration"]
    assert errors({"imagePrompt": "  "}) == ["imagePrompt"]
    assert errors({"dialogue": [{"speaker": "Zed", "text": "Hi"}]}) == ["dialogue.0.speaker"]
    assert errors({"dialogue": [{"speaker": "Ada", "text": " "}]}) == ["dialogue.0.text"]
    assert errors({"dialogue": [{"speaker": "Ada", "text": "Hi", "side": "up"}]}) == [
        "dialogue.0.side"
    ]
    assert errors({"dialogue": [{"speaker": "Ada", "text": "x" * 201}]}) == ["dialogue.0.text"]
    assert errors({"dialogue": [{"speaker": "Ada", "text": "Hi"}] * 5}) == ["dialogue"]
    assert errors({"dialogue": [{"speaker": "Ada"}]}) == ["dialogue.0.text"]
    assert errors({"colour": "red"}) == ["colour"]
    # The narrator may speak a line; control characters are stripped, not stored.
    ok = client.patch(
        f"/jobs/{job_id}/panels/0",
        json={"dialogue": [{"speaker": "narrator", "text": "Later\x1b[2J that day."}]},
        headers=AUTH,
    )
    assert ok.status_code == 202
    assert ok.get_json()["dialogue"] == [
        {"speaker": "narrator", "text": "Later[2J that day.", "side": "center"}
    ]


# ---- custom style --------------------------------------------------------------------------


def test_a_custom_style_reaches_the_image_prompts(services: Services) -> None:
    client = create_app("api", str(SOURCE), "http").test_client()
    look = "grainy 1970s sci-fi paperback cover, airbrushed chrome"
    reply = client.post(
        "/jobs",
        json={"story": "Ada met Bo.", "panels": 1, "style": "custom", "styleText": look},
        headers=AUTH,
    )
    assert reply.status_code == 202, reply.get_json()
    job_id = reply.get_json()["jobId"]
    plan_job(services, job_id)
    _drain(services)
    job = services.store.get_job(job_id)
    assert job is not None and (job.style, job.style_text, job.art_style) == ("custom", look, look)
    _, _, blobs = _parts(services)
    drawn = [data for path, (data, _, _) in blobs.objects.items() if "/panels/" in path]
    assert any(look.encode() in data for data in drawn)  # the fake draws the style it was sent
    catalogue = client.get("/catalogue").get_json()
    assert catalogue["customStyle"] == {"style": "custom", "maxChars": 300}


def test_custom_style_text_is_bounded_and_needs_the_custom_style(services: Services) -> None:
    client = create_app("api", str(SOURCE), "http").test_client()

    def fields(body: dict[str, object]) -> list[str]:
        reply = client.post("/jobs", json={"story": "Ada.", **body}, headers=AUTH)
        assert reply.status_code == 400, reply.get_json()
        return [item["field"] for item in reply.get_json()["error"]["errors"]]

    assert fields({"style": "custom"}) == ["styleText"]
    assert fields({"style": "custom", "styleText": "\x00\x07  "}) == ["styleText"]
    assert fields({"style": "custom", "styleText": "x" * 301}) == ["styleText"]
    assert fields({"style": "noir", "styleText": "moody"}) == ["styleText"]
    assert fields({"style": "custom", "styleText": 5}) == ["styleText"]


# ---- translation ---------------------------------------------------------------------------


@pytest.fixture
def translating() -> Services:
    """Fakes for every port, with settings that choose the Google planner (which translates)."""
    settings = Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "demo-unit", "PANELFLOW_PLANNER": "google", "GEMINI_API_KEY": "k"}
    )
    built = fake_services(settings)
    bootstrap.use(built)
    yield built
    bootstrap.use(None)


def test_a_translation_reuses_every_image_and_re_speaks_the_words(translating: Services) -> None:
    services = translating
    source_id = _finished(services, panels=3)
    _, _, blobs = _parts(services)
    translated = start_translation(services, OWNER, source_id, "fr")
    assert translated.status == JobStatus.QUEUED and translated.translated_from == source_id
    plan_job(services, translated.job_id)
    _drain(services)

    images, voice = _counters(services)
    assert images.calls == []  # a translation makes 0 image calls
    assert len(voice.calls) == 3
    job = services.store.get_job(translated.job_id)
    assert job is not None and job.status == JobStatus.COMPLETED and job.language == "fr"
    assert job.title.startswith("[fr] ")
    source_panels = services.store.list_panels(source_id)
    for original, panel in zip(source_panels, services.store.list_panels(job.job_id), strict=True):
        assert panel.caption == f"[fr] {original.caption}"
        assert [line.speaker for line in panel.dialogue] == [
            line.speaker for line in original.dialogue
        ]
        assert panel.image is not None and original.image is not None
        # A copy under the new job: deleting either comic leaves the other whole.
        assert panel.image.path.startswith(f"jobs/{job.job_id}/")
        assert blobs.get(panel.image.path) == blobs.get(original.image.path)
    ledger = _kinds(services, job.job_id)
    assert "image" not in ledger and "reference" not in ledger
    # (The fake planner reports no tokens; the Gemini one records its call: see
    # tests/integration/test_google_providers.py.)
    assert ledger == {"speech": 3}


def test_a_translation_needs_a_completed_comic_and_another_language(
    translating: Services,
) -> None:
    services = translating
    source_id = _finished(services)
    with pytest.raises(ValidationFailed) as same:
        start_translation(services, OWNER, source_id, "en")
    assert same.value.field == "language"
    with pytest.raises(NotFound):
        start_translation(services, "someone-else", source_id, "fr")
    edit_panel(services, OWNER, source_id, 0, PanelEdit(narration="Changed."))
    with pytest.raises(Conflict):
        start_translation(services, OWNER, source_id, "fr")


def test_the_offline_planner_cannot_translate(services: Services) -> None:
    job_id = _finished(services)
    client = create_app("api", str(SOURCE), "http").test_client()
    reply = client.post(f"/jobs/{job_id}:translate", json={"language": "fr"}, headers=AUTH)
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert error["code"] == "translation_unavailable"
    assert "translation needs the Google planner" in error["message"]
    catalogue = client.get("/catalogue").get_json()
    assert catalogue["translation"]["available"] is False
    assert "Google planner" in catalogue["translation"]["reason"]
