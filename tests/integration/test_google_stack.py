"""A whole job on the local stack with PANELFLOW_PROVIDERS=google, the real SDK clients
pointed at local fakes of Gemini (HTTP) and Cloud Text-to-Speech (gRPC)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulator_fixtures import running
from fakes.gemini_server import FakeGemini
from fakes.tts_server import FakeTextToSpeech
from google_fakes_env import google_env, mira_and_tomas
from panelflow.adapters import cloud_tts
from panelflow_cli.stack import LocalStack, StackOptions
from stack_helpers import headers, start_job, wait, watch

pytestmark = pytest.mark.stack

STORY = (
    "Mira kept the lighthouse. A storm came in from the west. Tomas ran up the stairs to warn "
    'her. "Light it now," Mira said. At dawn the sea was calm.'
)
PLAN: dict[str, Any] = {
    "title": "The Keeper",
    "characters": mira_and_tomas(),
    "panels": [
        {
            "scene": "A lighthouse on a cliff at dusk.",
            "characters": ["Mira"],
            "caption": "Mira keeps the light.",
            "narration": "Mira kept the lighthouse.",
            "dialogue": [],
            "image_prompt": "Wide shot of Mira at the lighthouse door.",
        },
        {
            "scene": "The lamp room in a storm.",
            "characters": ["Mira", "Tomas"],
            "caption": "The storm arrives.",
            "narration": "A storm came in from the west.",
            "dialogue": [{"speaker": "Mira", "text": "Light it now."}],
            "image_prompt": "Tomas bursts in, soaked, Mira at the lamp.",
        },
        {
            "scene": "Dawn over a calm sea.",
            "characters": ["Tomas"],
            "caption": "Morning.",
            "narration": "At dawn the sea was calm.",
            "dialogue": [{"speaker": "Tomas", "text": "We made it."}],
            "image_prompt": "Tomas watches the sunrise from the gallery.",
        },
    ],
}


@pytest.fixture(scope="module")
def google_stack(
    gemini_server: FakeGemini,
    tts_server: FakeTextToSpeech,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalStack]:
    options = StackOptions(
        state_dir=tmp_path_factory.mktemp("google"),
        panel_concurrency=4,
        retry_backoff=(0.0, 1.0),
        function_env=google_env(gemini_server, tts_server, PANELFLOW_RETRY_INITIAL_S="0.1"),
    )
    with running(options) as stack:
        yield stack


def test_google_job_stores_exactly_what_the_providers_returned(
    google_stack: LocalStack,
    fake: FakeGemini,
    tts: FakeTextToSpeech,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gemini = fake
    gemini.plan = PLAN
    for key, value in google_stack.env.items():
        monkeypatch.setenv(key, value)
    api = google_stack.env["PANELFLOW_API_URL"]

    job_id = start_job(api, "gina", STORY, panels=3, style="noir")
    timeline = wait(watch(google_stack.env["GOOGLE_CLOUD_PROJECT"], job_id, timeout=90))
    assert timeline.job["status"] == "completed", (timeline.job, timeline.panels)
    job = requests.get(f"{api}/jobs/{job_id}", headers=headers("gina"), timeout=10).json()
    assert job["title"] == "The Keeper"
    assert [c["name"] for c in job["characters"]] == ["Mira", "Tomas"]

    # Planning: one structured call, then one reference sheet per character.
    plan_calls = [r for r in gemini.requests if not r.wants_image]
    sheet_calls = [r for r in gemini.requests if r.wants_image and "reference sheet" in r.prompt]
    assert len(plan_calls) == 1 and len(sheet_calls) == 2
    sheets = {r.image for r in sheet_calls}

    served_by_text = {served.text: served for served in tts.served}
    per_panel = []
    for panel in job["panels"]:
        planned = PLAN["panels"][panel["index"]]
        marker = f"Scene: {(planned['image_prompt'] or planned['scene']).strip()}"
        image_calls = [r for r in gemini.requests if r.wants_image and marker in r.prompt]
        assert len(image_calls) == 1
        # Each character in the panel went along as its stored reference sheet, unchanged.
        assert len(image_calls[0].inline_images) == len(planned["characters"])
        assert set(image_calls[0].inline_images) <= sheets

        image = requests.get(panel["image"]["url"], timeout=10)
        assert image.status_code == 200
        assert image.content == image_calls[0].image
        assert (panel["image"]["width"], panel["image"]["height"]) == (768, 512)

        texts = [planned["narration"], *(line["text"] for line in planned["dialogue"])]
        clips = [served_by_text[text].audio for text in texts]
        audio = requests.get(panel["audio"]["url"], timeout=10).content
        if len(clips) == 1:
            assert audio == clips[0]  # the service's MP3, byte for byte
        assert audio == b"".join(clips)
        assert panel["audio"]["durationMs"] == round(
            sum(cloud_tts.mp3_duration(clip) for clip in clips) * 1000
        )
        per_panel.append((len(image_calls), len(texts)))

    assert len(tts.requests) == sum(tts_calls for _, tts_calls in per_panel)
    # The cost ledger counts every one of those calls, on the job and per panel.
    cost = job["cost"]
    assert cost["calls"] == len(gemini.requests) + len(tts.requests)
    assert cost["byKind"]["plan"]["calls"] == 1 and cost["byKind"]["reference"]["calls"] == 2
    assert cost["byKind"]["speech"]["units"]["characters"] == sum(len(s.text) for s in tts.served)
    assert [p["cost"]["calls"] for p in job["panels"]] == [i + s for i, s in per_panel]
    assert cost["estimate"] == pytest.approx(
        sum(c["estimate"] for c in cost["byKind"].values()), abs=1e-6
    )
    print(f"\ncost ledger of job {job_id}: {cost}")
    print(
        f"\nplan step: {len(plan_calls)} Gemini text call + {len(sheet_calls)} sheet calls; "
        + "; ".join(
            f"panel {n}: {images} Gemini image call + {speech} TTS calls"
            for n, (images, speech) in enumerate(per_panel)
        )
    )
