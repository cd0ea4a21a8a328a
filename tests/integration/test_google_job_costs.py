"""Whole jobs on the Google providers (real SDK clients, local wire-protocol fakes) with
in-memory store, queue and blobs: the cost ledger GET /jobs/{id} returns, and the caps a
story written to inflate its plan runs into."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakes.gemini_server import FakeGemini
from fakes.services import fake_services
from fakes.tts_server import FakeTextToSpeech
from google_fakes_env import dusk_panel, google_settings, mira_and_tomas
from panelflow.bootstrap import Services
from panelflow.domain import plan_limits
from panelflow.domain.editing import PanelEdit
from panelflow.domain.models import DialogueLine, JobRequest, JobStatus
from panelflow.services.editing import edit_panel
from panelflow.services.jobs import job_view, start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.services.translation import start_translation

ONE_PANEL: dict[str, Any] = {
    "title": "The lighthouse",
    "characters": mira_and_tomas(),
    "panels": [dusk_panel()],
}


@pytest.fixture
def services(fake: FakeGemini, tts: FakeTextToSpeech) -> Services:
    return fake_services(google_settings(fake, tts), fake_providers=False)


def _run(services: Services, story: str, panels: int) -> dict[str, Any]:
    job = start_job(services, "owner-1", JobRequest(story, "noir", panels, "en"))
    plan_job(services, job.job_id)
    for job_id, index in list(services.queue.panels):
        render_panel(services, job_id, index)
    stored = services.store.get_job(job.job_id)
    assert stored is not None and stored.status == JobStatus.COMPLETED
    return job_view(services, stored)


def test_a_one_panel_job_records_every_paid_call(
    services: Services, fake: FakeGemini, tts: FakeTextToSpeech
) -> None:
    fake.plan = ONE_PANEL
    view = _run(services, "Mira kept the light. A storm came.", panels=1)
    calls = services.store.list_costs(view["jobId"])
    print("\n1-panel job, paid calls:")
    for call in calls:
        print(f"  {call.kind:9} {call.model:22} {dict(call.units)} ${call.estimate:.6f}")
    print("job cost:", json.dumps(view["cost"]))
    # Plan, one sheet (Tomas is in the bible but in no panel: no sheet), the panel, speech.
    assert [c.kind for c in calls].count("plan") == 1
    assert [c.kind for c in calls].count("reference") == 1
    assert [c.kind for c in calls].count("image") == 1
    assert [c.kind for c in calls].count("speech") == len(tts.requests) == 2
    cost = view["cost"]
    assert cost["currency"] == "USD" and cost["calls"] == len(calls)
    assert cost["estimate"] == pytest.approx(sum(c.estimate for c in calls))
    assert cost["byKind"]["image"]["units"]["images"] == 1
    assert cost["byKind"]["speech"]["units"]["characters"] == sum(len(s.text) for s in tts.served)
    panel = view["panels"][0]
    assert panel["cost"]["calls"] == 3  # the image and two speech requests
    assert 0 < panel["cost"]["estimate"] < cost["estimate"]


def test_a_story_written_to_inflate_the_plan_is_clamped_and_its_cost_capped(
    services: Services, fake: FakeGemini, tts: FakeTextToSpeech
) -> None:
    filler = "and the storm went on and on, " * 100  # 3,000 characters
    fake.plan = {
        "title": filler,
        "characters": [
            {"name": f"Keeper {n}", "visual_description": filler[:900], "voice": "female"}
            for n in range(20)
        ],
        "panels": [
            {
                "scene": filler,
                "characters": [f"Keeper {n}" for n in range(20)],
                "caption": filler,
                "narration": filler,
                "dialogue": [{"speaker": f"Keeper {n}", "text": filler[:600]} for n in range(12)],
                "image_prompt": filler,
            }
            for _ in range(2)
        ],
    }
    view = _run(services, "Write every panel as long as you can. " * 20, panels=2)

    for panel in view["panels"]:
        assert len(panel["dialogue"]) <= plan_limits.DIALOGUE_LINES
        assert len(panel["narration"]) <= plan_limits.NARRATION_CHARS
        spoken = [panel["narration"]] + [line["text"] for line in panel["dialogue"]]
        assert sum(len(t.encode()) for t in spoken) <= plan_limits.SPOKEN_BYTES_PER_PANEL
    assert len(view["characters"]) <= plan_limits.MAX_CHARACTERS
    assert len(view["title"]) <= plan_limits.TITLE_CHARS

    settings = services.settings
    prices = settings.prices
    panels = len(view["panels"])
    text, image = prices[settings.planner_model], prices[settings.image_model]
    prompt_cap = 20_000  # the fake counts at most this many prompt tokens for these requests
    cap = (
        2
        * (
            prompt_cap * text["inputTokens"]
            + settings.planner_max_output_tokens * text["outputTokens"]
        )
        / 1e6
        + (panels + plan_limits.MAX_CHARACTERS)
        * (image["images"] + prompt_cap * image["inputTokens"] / 1e6)
        + panels * settings.max_spoken_bytes * prices["wavenet"]["characters"] / 1e6
    )
    cost = view["cost"]
    print(f"\ninflated 2-panel job: ${cost['estimate']:.4f} (cap ${cap:.4f})", json.dumps(cost))
    assert 0 < cost["estimate"] <= cap
    assert cost["byKind"]["reference"]["calls"] <= plan_limits.MAX_CHARACTERS
    assert cost["byKind"]["speech"]["units"]["characters"] <= panels * settings.max_spoken_bytes


def _drain(services: Services) -> None:
    queue = services.queue
    while queue.panels:  # type: ignore[attr-defined]
        job_id, index = queue.panels.pop(0)  # type: ignore[attr-defined]
        render_panel(services, job_id, index)


def _kinds(services: Services, job_id: str) -> list[str]:
    return [call.kind for call in services.store.list_costs(job_id)]


def test_an_edit_and_a_translation_make_only_the_calls_they_need(
    services: Services, fake: FakeGemini, tts: FakeTextToSpeech
) -> None:
    two = {**ONE_PANEL, "panels": [dusk_panel(), dict(dusk_panel(), caption="Night.")]}
    fake.plan = two
    view = _run(services, "Mira kept the light. A storm came.", panels=2)
    job_id = view["jobId"]
    made = len(_kinds(services, job_id))

    # A dialogue edit: the panel is spoken again (narration and the new line), never drawn.
    fake.reset()
    tts.reset()
    edit = PanelEdit(dialogue=(DialogueLine("Mira", "The storm is here!"),))
    assert edit_panel(services, "owner-1", job_id, 1, edit)["redo"] == "speech"
    _drain(services)
    edit_calls = _kinds(services, job_id)[made:]
    print("\ndialogue edit, paid calls:", edit_calls, "Gemini requests:", len(fake.requests))
    assert fake.requests == [] and "image" not in edit_calls
    assert edit_calls == ["speech"] * len(tts.requests) and len(tts.requests) == 2
    assert services.store.get_job(job_id).status == JobStatus.COMPLETED  # type: ignore[union-attr]

    # A translation: one Gemini text call, speech for every panel, no image.
    fake.reset()
    tts.reset()
    translated = start_translation(services, "owner-1", job_id, "de")
    plan_job(services, translated.job_id)
    _drain(services)
    calls = _kinds(services, translated.job_id)
    print("translation, paid calls:", calls, json.dumps(job_view_of(services, translated.job_id)))
    assert [request.wants_image for request in fake.requests] == [False]
    assert calls.count("translate") == 1 and "image" not in calls and "reference" not in calls
    assert calls.count("speech") == len(tts.requests) == 4
    job = services.store.get_job(translated.job_id)
    assert job is not None and job.status == JobStatus.COMPLETED and job.language == "de"
    panels = services.store.list_panels(translated.job_id)
    assert [panel.dialogue[0].text for panel in panels] == [
        "[de] Storm tonight.",
        "[de] The storm is here!",
    ]
    assert all(text.startswith("[de] ") for text in (s.text for s in tts.served))


def job_view_of(services: Services, job_id: str) -> dict[str, Any]:
    job = services.store.get_job(job_id)
    assert job is not None
    return job_view(services, job)["cost"]
