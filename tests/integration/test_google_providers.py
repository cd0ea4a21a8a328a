"""The Google adapters with their real SDK clients against local fakes of the wire protocols.

Gemini: google-genai over HTTP to ``fakes.gemini_server`` (REST ``generateContent``).
Text-to-Speech: google-cloud-texttospeech over gRPC to ``fakes.tts_server``.
Both fakes listen on 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import grpc
import pytest

from fakes.gemini_server import (
    FakeGemini,
    blocked_prompt_reply,
    error_reply,
    finish_reply,
    make_png,
    plan_reply,
    slow,
    text_reply,
)
from fakes.tts_server import FakeTextToSpeech
from google_fakes_env import gemini_images, gemini_planner, google_settings, mira_and_tomas
from panelflow.adapters import cloud_tts, prompts
from panelflow.domain import costs
from panelflow.domain.errors import (
    ContentBlocked,
    PlanningFailed,
    ProviderError,
    TransientError,
)
from panelflow.domain.models import (
    Character,
    DialogueLine,
    PanelPlan,
    PanelRequest,
    SpeechLine,
    StoryPlan,
)

PLAN: dict[str, Any] = {
    "title": "Le gardien du phare",
    "characters": mira_and_tomas(),
    "panels": [
        {
            "scene": "A lighthouse on a cliff at dusk.",
            "characters": ["Mira"],
            "caption": "Le soir tombe.",
            "narration": "Mira gardait le phare.",
            "dialogue": [],
            "image_prompt": "Wide shot of Mira at the lighthouse door.",
        },
        {
            "scene": "The lamp room in a storm.",
            "characters": ["mira"],
            "caption": "La tempête.",
            "narration": "La mer devint noire.",
            "dialogue": [{"speaker": "Tomas", "text": "Une tempête arrive !"}],
            "image_prompt": "Tomas bursts in, soaked.",
        },
        {
            "scene": "Dawn over a calm sea.",
            "characters": ["Mira", "Tomas", "Ghost"],
            "caption": "L'aube.",
            "narration": "Au matin, la mer était calme.",
            "dialogue": [{"speaker": "Mira", "text": "Nous avons réussi."}],
            "image_prompt": "Mira and Tomas watch the sunrise.",
        },
    ],
}
STORY = "Mira kept the lighthouse. A storm came. Tomas warned her. At dawn the sea was calm."
MIRA = Character("Mira", "tall, red raincoat", "female")
TOMAS = Character("Tomas", "grey beard, yellow oilskin", "male")
PANEL = PanelPlan(
    index=1,
    scene="The lamp room in a storm.",
    caption="The storm.",
    narration="The sea turned black.",
    dialogue=(DialogueLine("Tomas", "A storm is coming!"),),
    characters=("Mira", "Tomas"),
    image_prompt="Tomas bursts in, soaked, Mira at the lamp.",
)


def _voice(tts: FakeTextToSpeech, budget: str = "2", **extra: str):
    settings = google_settings(
        PANELFLOW_TTS_ENDPOINT=tts.address, PANELFLOW_TTS_RETRY_BUDGET_S=budget, **extra
    )
    assert settings.tts_insecure
    return cloud_tts.CloudTextToSpeechSynthesizer(
        cloud_tts.make_client(settings),
        voices=settings.tts_voices,
        timeout=settings.tts_timeout_s,
        retry=cloud_tts.make_retry(
            initial=settings.retry_initial_s,
            maximum=settings.retry_max_s,
            budget=settings.tts_retry_budget_s,
        ),
    )


# ---- planning ---------------------------------------------------------------------------


def test_plan_is_one_structured_output_call(fake: FakeGemini) -> None:
    fake.plan = PLAN
    plan = gemini_planner(fake).plan(STORY, panels=3, style="noir", language="fr")

    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.path == "/v1beta/models/gemini-3.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == "test-key"
    assert request.config["responseMimeType"] == "application/json"
    schema = request.config["responseSchema"]
    assert schema["required"] == ["title", "characters", "panels"]
    panel_schema = schema["properties"]["panels"]["items"]["properties"]
    assert {"scene", "caption", "narration", "dialogue", "image_prompt"} <= set(panel_schema)
    instructions = request.body["systemInstruction"]["parts"][0]["text"]
    assert "exactly 3 panels" in instructions and "in French" in instructions
    assert STORY in request.prompt

    assert plan.title == "Le gardien du phare"
    assert [(c.name, c.description, c.voice) for c in plan.characters] == [
        ("Mira", "tall, red raincoat", "female"),
        ("Tomas", "grey beard, yellow oilskin", "male"),
    ]
    assert [p.index for p in plan.panels] == [0, 1, 2]
    # Names are matched to the cast; speakers join the panel's characters; strangers drop out.
    assert plan.panels[1].characters == ("Mira", "Tomas")
    assert plan.panels[2].characters == ("Mira", "Tomas")
    assert plan.panels[1].dialogue == (DialogueLine("Tomas", "Une tempête arrive !"),)
    assert plan.panels[0].image_prompt == "Wide shot of Mira at the lighthouse door."


def test_reply_that_is_not_json_is_re_asked_once_with_the_error(fake: FakeGemini) -> None:
    fake.script(plan_reply('{"title": "Le gardien", "characters": ['), plan_reply(PLAN))
    plan = gemini_planner(fake).plan(STORY, panels=3, style="manga", language="fr")

    assert len(plan.panels) == 3
    assert len(fake.requests) == 2
    second = fake.requests[1].body["contents"]
    assert [turn["role"] for turn in second] == ["user", "model", "user"]
    assert second[1]["parts"][0]["text"] == '{"title": "Le gardien", "characters": ['
    correction = second[2]["parts"][0]["text"]
    assert "Invalid JSON" in correction and "exactly 3 panels" in correction


def test_reply_that_misses_the_schema_twice_fails_with_a_readable_reason(
    fake: FakeGemini,
) -> None:
    broken = {"title": "x", "characters": [], "panels": [{"scene": "only a scene"}]}
    fake.script(plan_reply(broken), plan_reply(broken))
    with pytest.raises(PlanningFailed) as caught:
        gemini_planner(fake).plan(STORY, panels=3, style="manga", language="en")

    assert len(fake.requests) == 2
    message = caught.value.message
    assert message.startswith("The story planner's reply did not fit the plan format, twice")
    assert "panels.0.caption: Field required" in message
    assert "panels.0.caption: Field required" in fake.requests[1].prompt
    assert not caught.value.retryable


def test_wrong_panel_count_is_re_asked_then_trimmed(fake: FakeGemini) -> None:
    four = copy.deepcopy(PLAN)
    four["panels"].append(dict(PLAN["panels"][0], caption="Encore."))
    fake.script(plan_reply(four), plan_reply(four))
    plan = gemini_planner(fake).plan(STORY, panels=3, style="manga", language="fr")
    assert len(fake.requests) == 2
    assert "4 panels instead of exactly 3" in fake.requests[1].prompt
    assert [p.caption for p in plan.panels] == ["Le soir tombe.", "La tempête.", "L'aube."]

    fake.reset()
    two = copy.deepcopy(PLAN)
    two["panels"] = two["panels"][:2]
    fake.script(plan_reply(two), plan_reply(PLAN))
    assert len(gemini_planner(fake).plan(STORY, panels=3, style="manga", language="fr").panels) == 3


def _lighthouse_plan() -> StoryPlan:
    return StoryPlan(
        title="The lighthouse keeper",
        characters=(Character("Mira", "tall, red raincoat", "female"),),
        panels=(
            PanelPlan(0, "A cliff at dusk.", "Dusk.", "Mira kept the light.", (), ("Mira",), "p0"),
            PanelPlan(
                1,
                "The lamp room.",
                "Storm.",
                "",
                (DialogueLine("Mira", "Storm tonight.", side="left"), DialogueLine("narrator", "")),
                ("Mira",),
                "p1",
            ),
        ),
    )


def test_translate_is_one_structured_output_call_that_keeps_panels_and_speakers(
    fake: FakeGemini,
) -> None:
    source = _lighthouse_plan()
    with costs.recording() as calls:
        translated = gemini_planner(fake).translate(source, source_language="en", language="fr")

    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.config["responseMimeType"] == "application/json"
    schema = request.config["responseSchema"]
    assert schema["required"] == ["title", "panels"]
    instructions = request.body["systemInstruction"]["parts"][0]["text"]
    assert "from English into French (fr)" in instructions
    assert '"Storm tonight."' in request.prompt and "<<<" in request.prompt
    assert translated.title == "[fr] The lighthouse keeper"
    assert [p.caption for p in translated.panels] == ["[fr] Dusk.", "[fr] Storm."]
    assert [(line.speaker, line.text) for line in translated.panels[1].dialogue] == [
        ("Mira", "[fr] Storm tonight."),
        ("narrator", ""),
    ]
    assert [(c.kind, c.provider) for c in calls] == [("translate", "google")]


def test_a_translation_that_drops_a_line_is_re_asked_then_refused(fake: FakeGemini) -> None:
    source = _lighthouse_plan()
    short = {
        "title": "Le gardien",
        "panels": [
            {"caption": "Le soir.", "narration": "Mira.", "dialogue": []},
            {"caption": "Orage.", "narration": "", "dialogue": []},
        ],
    }
    fake.script(plan_reply(short), plan_reply(short))
    with pytest.raises(PlanningFailed) as caught:
        gemini_planner(fake).translate(source, source_language="en", language="fr")
    assert len(fake.requests) == 2
    assert "panel 2 must have 2 dialogue lines by Mira, narrator" in caught.value.message
    assert "panel 2 must have 2 dialogue lines" in fake.requests[1].prompt
    assert not caught.value.retryable

    fake.reset()
    fake.script(plan_reply({**short, "panels": short["panels"][:1]}))
    translated = gemini_planner(fake).translate(source, source_language="en", language="fr")
    assert "1 panels instead of exactly 2" in fake.requests[1].prompt
    assert len(translated.panels) == 2  # the second answer (the fake's default) fits


def test_blocked_story_fails_planning_without_a_second_call(fake: FakeGemini) -> None:
    fake.script(blocked_prompt_reply("PROHIBITED_CONTENT"))
    with pytest.raises(PlanningFailed) as caught:
        gemini_planner(fake).plan(STORY, panels=3, style="manga", language="en")
    assert len(fake.requests) == 1
    assert "declined this story" in caught.value.message
    assert "prohibited content" in caught.value.message


# ---- images -----------------------------------------------------------------------------


def test_panel_request_carries_one_reference_image_per_character(fake: FakeGemini) -> None:
    references = {"Mira": make_png(64, 96, "mira"), "Tomas": make_png(64, 96, "tomas")}
    previous = PanelPlan(0, "Mira climbs the stairs.", "", "", (), ("Mira",), "")
    image = gemini_images(fake).panel(
        PanelRequest(PANEL, "noir", [MIRA, TOMAS], references, previous)
    )

    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.path == "/v1beta/models/gemini-3.1-flash-image:generateContent"
    assert request.config["responseModalities"] == ["IMAGE"]
    assert request.config["imageConfig"] == {"aspectRatio": "3:2"}
    assert len(request.inline_images) == len(PANEL.characters) == 2
    assert request.inline_images == [references["Mira"], references["Tomas"]]
    assert request.texts[1:] == ["Reference sheet for Mira:", "Reference sheet for Tomas:"]
    prompt = request.texts[0]
    assert prompts.style_description("noir") in prompt
    assert "previous panel showed: Mira climbs the stairs." in prompt
    assert '- Tomas: "A storm is coming!"' in prompt
    assert image.data == fake.served_images()[0]
    assert (image.width, image.height, image.content_type) == (768, 512, "image/png")


def test_character_sheet_is_drawn_from_the_description_alone(fake: FakeGemini) -> None:
    sheet = gemini_images(fake).character_sheet(MIRA, style="watercolor")
    request = fake.requests[0]
    assert request.inline_images == []
    assert "Mira. tall, red raincoat" in request.prompt
    assert prompts.style_description("watercolor") in request.prompt
    assert sheet.data == fake.served_images()[0]


def test_safety_block_is_re_rolled_once_softened_then_reported(fake: FakeGemini) -> None:
    fake.script(finish_reply("IMAGE_SAFETY"), finish_reply("IMAGE_SAFETY"))
    with pytest.raises(ContentBlocked) as caught:
        gemini_images(fake).panel(PanelRequest(PANEL, "noir", [MIRA], {}))

    assert len(fake.requests) == 2
    first, second = (request.texts[0] for request in fake.requests)
    assert not first.startswith(prompts.SOFTENING)
    assert second == prompts.soften(first)
    message = caught.value.message
    assert message.startswith("The image model declined to draw panel 2:")
    assert "image safety filter" in message
    assert caught.value.code == "content_blocked" and not caught.value.retryable


def test_blocked_prompt_is_re_rolled_and_can_succeed(fake: FakeGemini) -> None:
    fake.script(blocked_prompt_reply("PROHIBITED_CONTENT"))
    image = gemini_images(fake).panel(PanelRequest(PANEL, "noir", [MIRA], {}))
    assert len(fake.requests) == 2
    assert fake.requests[1].texts[0].startswith(prompts.SOFTENING)
    assert image.data == fake.served_images()[0]


def test_reply_without_a_picture_is_re_rolled_then_reported(fake: FakeGemini) -> None:
    fake.script(
        finish_reply("NO_IMAGE", text="I can only describe this scene."),
        text_reply("Here is a description instead."),
    )
    with pytest.raises(ContentBlocked) as caught:
        gemini_images(fake).character_sheet(TOMAS, style="manga")
    assert len(fake.requests) == 2
    assert "answered without a picture" in caught.value.message
    assert "Here is a description instead." in caught.value.message
    assert "reference sheet for Tomas" in caught.value.message


def test_429_then_503_then_success_is_retried_inside_the_call(fake: FakeGemini) -> None:
    fake.script(error_reply(429), error_reply(503))
    started = time.monotonic()
    image = gemini_images(fake).character_sheet(MIRA, style="noir")
    elapsed = time.monotonic() - started

    assert [request.status for request in fake.requests] == [429, 503, 200]
    assert image.width == 768
    # Backoff 0.05 s then 0.1 s plus at most 0.05 s jitter each.
    assert 0.15 <= elapsed < 2.0, elapsed
    print(f"\n429 -> 503 -> 200: {len(fake.requests)} requests in {elapsed:.3f} s")


def test_429_that_outlasts_the_retries_is_transient(fake: FakeGemini) -> None:
    fake.script(error_reply(429), error_reply(429), error_reply(429))
    with pytest.raises(TransientError) as caught:
        gemini_images(fake).character_sheet(MIRA, style="noir")
    assert len(fake.requests) == 3  # PANELFLOW_GEMINI_ATTEMPTS default
    assert "429" in caught.value.message and caught.value.retryable
    assert caught.value.__cause__ is not None


def test_bad_request_is_not_retried(fake: FakeGemini) -> None:
    fake.script(error_reply(400, "Unsupported image format."))
    with pytest.raises(ProviderError) as caught:
        gemini_images(fake).character_sheet(MIRA, style="noir")
    assert len(fake.requests) == 1
    assert type(caught.value) is ProviderError and not caught.value.retryable
    assert "rejected the request (400 INVALID_ARGUMENT): Unsupported image format." in (
        caught.value.message
    )


def test_refused_key_is_permanent_and_names_the_setting(fake: FakeGemini) -> None:
    fake.script(error_reply(403, "API key not valid."))
    with pytest.raises(ProviderError) as caught:
        gemini_planner(fake).plan(STORY, panels=3, style="noir", language="en")
    assert len(fake.requests) == 1
    assert "GEMINI_API_KEY" in caught.value.message


def test_image_timeout_is_transient_and_not_resent(fake: FakeGemini) -> None:
    # A slow generation may still be billed: re-sending it within the call would pay twice.
    fake.script(slow(text_reply("late"), 2.0), slow(text_reply("late"), 2.0))
    images = gemini_images(fake, PANELFLOW_GEMINI_TIMEOUT_S="0.3", PANELFLOW_GEMINI_ATTEMPTS="2")
    started = time.monotonic()
    with costs.recording() as calls, pytest.raises(TransientError) as caught:
        images.character_sheet(MIRA, style="noir")
    elapsed = time.monotonic() - started
    assert len(fake.requests) == 1
    assert "did not answer in time" in caught.value.message
    assert elapsed < 1.5, elapsed
    # Counted as a (possibly) paid call all the same.
    assert [(c.kind, c.outcome, dict(c.units)) for c in calls] == [
        ("reference", "timeout", {"images": 1})
    ]


def test_planner_timeout_is_retried_within_the_call(fake: FakeGemini) -> None:
    fake.plan = PLAN
    fake.script(slow(text_reply("late"), 2.0))
    planner = gemini_planner(fake, PANELFLOW_GEMINI_TIMEOUT_S="0.5", PANELFLOW_GEMINI_ATTEMPTS="2")
    plan = planner.plan(STORY, panels=3, style="noir", language="fr")
    assert len(fake.requests) == 2 and len(plan.panels) == 3


def test_unreachable_server_is_transient() -> None:
    from panelflow_cli.stack import free_port

    images = gemini_images(
        None,  # type: ignore[arg-type]
        GOOGLE_GEMINI_BASE_URL=f"http://127.0.0.1:{free_port()}",
        PANELFLOW_GEMINI_ATTEMPTS="1",
    )
    with pytest.raises(TransientError, match="could not be reached"):
        images.character_sheet(MIRA, style="noir")


# ---- speech -----------------------------------------------------------------------------


def test_each_line_is_spoken_in_its_voice_and_joined(tts: FakeTextToSpeech) -> None:
    voice = _voice(tts, PANELFLOW_TTS_VOICES='{"Mira": "en-GB-Neural2-A"}')
    audio = voice.synthesize(
        [
            SpeechLine("The sea turned black."),
            SpeechLine("Light it now!", speaker="Mira", voice="female"),
            SpeechLine("Hold on.", speaker="Tomas", voice="male"),
        ],
        language="en",
    )
    assert len(tts.requests) == 3
    voices = [(r.voice.name, r.voice.language_code) for r in tts.requests]
    assert voices[0] == ("en-US-Wavenet-D", "en-US")
    assert voices[1] == ("en-GB-Neural2-A", "en-GB")
    assert voices[2][0] in cloud_tts.DEFAULT_VOICES["en"].male
    assert all(r.audio_config.audio_encoding.name == "MP3" for r in tts.requests)
    assert all(r.audio_config.sample_rate_hertz == 24_000 for r in tts.requests)
    assert audio.content_type == "audio/mpeg"
    assert audio.data == b"".join(served.audio for served in tts.served)
    expected = sum(cloud_tts.mp3_duration(served.audio) for served in tts.served)
    assert audio.duration_ms == round(expected * 1000)
    tone = sum(served.tone_ms for served in tts.served)
    # The encoder adds its delay and pads to whole frames: up to 4 frames of 24 ms a clip.
    assert tone <= audio.duration_ms <= tone + len(tts.served) * 4 * 24


def test_one_request_keeps_the_service_bytes_exactly(tts: FakeTextToSpeech) -> None:
    audio = _voice(tts).synthesize([SpeechLine("Once upon a time.")], language="de")
    assert len(tts.requests) == 1 and tts.requests[0].voice.language_code == "de-DE"
    assert audio.data == tts.served[0].audio


def test_text_over_5000_bytes_is_split_at_sentences(tts: FakeTextToSpeech) -> None:
    sentence = "é" * 20 + "."  # 21 characters, 41 bytes of UTF-8
    text = " ".join([sentence] * 150)  # 3,000 "é": 3,299 characters but 6,299 bytes
    assert text.count("é") == 3_000 and len(text) < 5_000 < len(text.encode())
    audio = _voice(tts).synthesize([SpeechLine(text)], language="fr")

    inputs = [request.input.text for request in tts.requests]
    assert len(inputs) == 2
    assert all(len(piece.encode()) <= 5_000 for piece in inputs)
    assert all(piece.endswith("é.") for piece in inputs)
    assert " ".join(inputs) == text
    assert audio.data == b"".join(served.audio for served in tts.served)
    assert audio.duration_ms == round(
        sum(cloud_tts.mp3_duration(served.audio) for served in tts.served) * 1000
    )


def test_unavailable_then_ok_is_retried(tts: FakeTextToSpeech) -> None:
    tts.fail_next(grpc.StatusCode.UNAVAILABLE)
    audio = _voice(tts).synthesize([SpeechLine("Hello.")], language="en")
    assert len(tts.requests) == 2
    assert audio.data == tts.served[0].audio


def test_quota_exhausted_for_the_whole_budget_is_transient(tts: FakeTextToSpeech) -> None:
    tts.fail_next(*[grpc.StatusCode.RESOURCE_EXHAUSTED] * 50)
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        _voice(tts, budget="0.5").synthesize([SpeechLine("Hello.")], language="en")
    assert time.monotonic() - started < 2.0
    assert len(tts.requests) >= 2
    assert "ResourceExhausted" in caught.value.message and caught.value.retryable


def test_invalid_argument_is_not_retried(tts: FakeTextToSpeech) -> None:
    tts.fail_next(grpc.StatusCode.INVALID_ARGUMENT, message="Voice 'xx-XX-Nope' does not exist.")
    with pytest.raises(ProviderError) as caught:
        _voice(tts).synthesize([SpeechLine("Hello.")], language="en")
    assert len(tts.requests) == 1
    assert not caught.value.retryable
    assert "Voice 'xx-XX-Nope' does not exist." in caught.value.message


def test_slow_answer_times_out_per_attempt_and_is_retried(tts: FakeTextToSpeech) -> None:
    tts.delay_next(1.5)
    voice = _voice(tts, PANELFLOW_TTS_TIMEOUT_S="0.3")
    started = time.monotonic()
    audio = voice.synthesize([SpeechLine("Hello.")], language="en")
    assert len(tts.requests) == 2 and audio.data == tts.served[-1].audio
    assert time.monotonic() - started < 1.5
