"""Behaviours of the real Google services, reproduced by the local wire-protocol fakes, and
what the adapters do about them (the real SDK clients talk to the fakes)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import grpc
import pytest

from fakes.gemini_server import (
    FakeGemini,
    empty_reply,
    finish_reply,
    make_png,
    plan_reply,
    quota_reply,
    raw_reply,
    thinking_image_reply,
)
from fakes.tts_server import MAX_SENTENCE_BYTES, FakeTextToSpeech, longest_sentence_bytes
from google_fakes_env import dusk_panel, gemini_images, gemini_planner, google_settings
from panelflow.adapters import cloud_tts, gemini
from panelflow.domain import costs, plan_limits
from panelflow.domain.errors import (
    ModelUnavailable,
    PlanningFailed,
    ProviderError,
    QuotaExhausted,
    TransientError,
)
from panelflow.domain.models import Character, PanelPlan, PanelRequest, SpeechLine

PLAN: dict[str, Any] = {
    "title": "The lighthouse",
    "characters": [{"name": "Mira", "visual_description": "red raincoat", "voice": "female"}],
    "panels": [dusk_panel()],
}
MIRA = Character("Mira", "tall, red raincoat", "female")


def _voice(tts: FakeTextToSpeech, **options: Any) -> cloud_tts.CloudTextToSpeechSynthesizer:
    settings = google_settings(PANELFLOW_TTS_ENDPOINT=tts.address, PANELFLOW_TTS_RETRY_BUDGET_S="1")
    return cloud_tts.CloudTextToSpeechSynthesizer(
        cloud_tts.make_client(settings),
        retry=cloud_tts.make_retry(initial=0.05, maximum=0.2, budget=1),
        **options,
    )


# ---- the planner ---------------------------------------------------------------------------


def test_the_fake_refuses_an_empty_model_turn_like_the_service(fake: FakeGemini) -> None:
    client = gemini.make_client(google_settings(fake))
    with pytest.raises(Exception) as caught:
        client.models.generate_content(
            model="gemini-3.5-flash",
            contents=[
                {"role": "user", "parts": [{"text": "story"}]},
                {"role": "model", "parts": [{"text": ""}]},
            ],
        )
    assert getattr(caught.value, "code", None) == 400


def test_an_empty_stop_reply_is_asked_again_without_an_empty_model_turn(fake: FakeGemini) -> None:
    fake.script(empty_reply("STOP"), plan_reply(PLAN))
    plan = gemini_planner(fake).plan("Mira kept the light.", panels=1, style="noir", language="en")
    assert plan.title == "The lighthouse"
    assert [request.status for request in fake.requests] == [200, 200]
    second = fake.requests[1].body["contents"]
    assert [turn["role"] for turn in second] == ["user"]
    assert all(part.get("text") for turn in second for part in turn["parts"])
    assert "empty" in second[0]["parts"][-1]["text"]


def test_a_recitation_stop_is_asked_again_once_then_fails(fake: FakeGemini) -> None:
    fake.script(finish_reply("RECITATION", "Once upon a time"), plan_reply(PLAN))
    plan = gemini_planner(fake).plan("Mira kept the light.", panels=1, style="noir", language="en")
    assert len(plan.panels) == 1 and len(fake.requests) == 2
    assert "own words" in fake.requests[1].prompt

    fake.reset()
    fake.script(finish_reply("RECITATION"), finish_reply("RECITATION"))
    with pytest.raises(PlanningFailed, match="own words"):
        gemini_planner(fake).plan("Mira kept the light.", panels=1, style="noir", language="en")
    assert len(fake.requests) == 2


def test_the_plan_request_caps_output_and_states_the_length_limits(fake: FakeGemini) -> None:
    fake.plan = PLAN
    with costs.recording() as calls:
        gemini_planner(fake, PANELFLOW_PLANNER_MAX_OUTPUT_TOKENS="4096").plan(
            "Mira.", panels=1, style="noir", language="en"
        )
    config = fake.requests[0].config
    assert config["maxOutputTokens"] == 4096
    # The SDK writes the schema's field names in snake case, which the API also accepts.
    schema = json.dumps(config.get("responseSchema") or config.get("responseJsonSchema"))
    schema = schema.replace("maxLength", "max_length").replace("maxItems", "max_items")
    assert f'"max_length": {plan_limits.NARRATION_CHARS}' in schema
    assert f'"max_items": {plan_limits.DIALOGUE_LINES}' in schema
    # The call is on the ledger with the tokens of usage_metadata (thinking counts as output).
    [call] = calls
    assert (call.kind, call.model, call.outcome) == ("plan", "gemini-3.5-flash", "ok")
    assert call.units["inputTokens"] == 100 and call.units["outputTokens"] > 50


def test_an_oversized_plan_from_the_model_is_clamped_not_asked_again(fake: FakeGemini) -> None:
    oversized = json.loads(json.dumps(PLAN))
    oversized["title"] = "T" * 500
    oversized["panels"][0]["narration"] = "It rained. " * 300
    oversized["panels"][0]["dialogue"] = [{"speaker": "Mira", "text": "Hey! " * 100}] * 12
    fake.plan = oversized
    plan = gemini_planner(fake).plan("Mira.", panels=1, style="noir", language="en")
    assert len(fake.requests) == 1
    assert len(plan.title) <= plan_limits.TITLE_CHARS
    panel = plan.panels[0]
    assert len(panel.dialogue) <= plan_limits.DIALOGUE_LINES
    assert plan_limits.spoken_bytes(panel) <= plan_limits.SPOKEN_BYTES_PER_PANEL


def test_a_retired_or_unknown_model_is_a_readable_permanent_error(fake: FakeGemini) -> None:
    fake.models.discard("gemini-3.5-flash")
    with pytest.raises(ModelUnavailable) as caught:
        gemini_planner(fake).plan("Mira.", panels=1, style="noir", language="en")
    assert caught.value.field == "PANELFLOW_PLANNER_MODEL"
    assert "PANELFLOW_PLANNER_MODEL" in caught.value.message
    assert not caught.value.retryable and len(fake.requests) == 1

    fake.models.discard("gemini-3.1-flash-image")
    with pytest.raises(ModelUnavailable) as caught:
        gemini_images(fake).character_sheet(MIRA, style="noir")
    assert caught.value.field == "PANELFLOW_IMAGE_MODEL"


def test_a_reply_that_is_not_json_is_translated(fake: FakeGemini) -> None:
    fake.script(*[raw_reply("<html>upstream hiccup</html>")] * 3)
    with pytest.raises(TransientError, match="not JSON"):
        gemini_planner(fake, PANELFLOW_GEMINI_ATTEMPTS="1").plan(
            "Mira.", panels=1, style="noir", language="en"
        )


# ---- quotas --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (quota_reply("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "0"), "billing"),
        (quota_reply("GenerateRequestsPerDayPerProjectPerModel", "250", "20s"), "daily quota"),
    ],
)
def test_a_429_that_waiting_cannot_fix_fails_at_once(fake: FakeGemini, reply, words) -> None:
    fake.script(reply)
    with pytest.raises(QuotaExhausted) as caught:
        gemini_images(fake).character_sheet(MIRA, style="noir")
    assert caught.value.code == "quota_exhausted" and not caught.value.retryable
    assert words in caught.value.message
    assert len(fake.requests) == 1


def test_a_429_with_retry_info_waits_at_least_the_delay_it_names(fake: FakeGemini) -> None:
    fake.script(quota_reply(retry_delay="0.6s"))
    started = time.monotonic()
    gemini_images(fake).character_sheet(MIRA, style="noir")
    assert time.monotonic() - started >= 0.6
    assert [request.status for request in fake.requests] == [429, 200]


def test_a_retry_delay_beyond_the_budget_goes_back_to_the_queue_with_it(fake: FakeGemini) -> None:
    fake.script(quota_reply(retry_delay="40s"))
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        gemini_images(fake, PANELFLOW_GEMINI_RETRY_BUDGET_S="5").character_sheet(MIRA, style="noir")
    assert time.monotonic() - started < 2
    assert caught.value.retry_after == 40.0 and caught.value.retryable
    assert len(fake.requests) == 1


# ---- images --------------------------------------------------------------------------------


def test_thought_drafts_are_skipped_and_the_final_image_taken(fake: FakeGemini) -> None:
    drafts = [make_png(seed="draft 1"), make_png(seed="draft 2")]
    final = make_png(seed="final")
    fake.script(thinking_image_reply(drafts, final))
    with costs.recording() as calls:
        image = gemini_images(fake).character_sheet(MIRA, style="noir")
    assert image.data == final
    [call] = calls
    assert (call.kind, call.units["images"]) == ("reference", 1)


def test_references_per_request_follow_the_model(fake: FakeGemini) -> None:
    cast = [Character(f"C{n}", "plain", "female") for n in range(16)]
    references = {c.name: make_png(64, 64, c.name) for c in cast}
    panel = PanelPlan(index=0, scene="A crowd.", caption="", narration="", image_prompt="All.")
    gemini_images(fake).panel(PanelRequest(panel, "noir", cast, references))
    assert len(fake.requests[0].inline_images) == 14  # 3.1 Flash Image takes up to 14

    fake.reset()
    fake.models.add("gemini-9-image-experimental")
    unlisted = gemini_images(
        fake,
        PANELFLOW_IMAGE_MODEL="gemini-9-image-experimental",
        PANELFLOW_ALLOW_UNLISTED_MODELS="true",
    )
    unlisted.panel(PanelRequest(panel, "noir", cast, references))
    assert len(fake.requests[0].inline_images) == 3  # the smallest published limit


def test_a_refused_image_is_still_on_the_ledger(fake: FakeGemini) -> None:
    fake.script(finish_reply("IMAGE_SAFETY"), finish_reply("IMAGE_SAFETY"))
    with costs.recording() as calls, pytest.raises(ProviderError):
        gemini_images(fake).character_sheet(MIRA, style="noir")
    assert [(c.outcome, "images" in c.units) for c in calls] == [("refused", False)] * 2


# ---- Text-to-Speech ------------------------------------------------------------------------

LONG_SENTENCE = (
    "The storm came over the cliffs, and the rain beat against the lamp room windows, "
    "while Mira climbed the iron stairs two at a time, counting the turns, listening to the "
    "wind, thinking of the ships out there in the dark, of the keeper before her, of the "
    "promise she had made to keep the light burning whatever happened, and of the long "
    "night still ahead of her before the grey dawn would finally come up over the sea."
)


def test_the_fake_refuses_a_sentence_that_is_too_long_like_the_service(
    tts: FakeTextToSpeech,
) -> None:
    assert len(LONG_SENTENCE.encode()) > MAX_SENTENCE_BYTES
    voice = _voice(tts, max_sentence_bytes=5_000)  # the old behaviour: whole sentences
    with pytest.raises(ProviderError, match="sentences that are too long"):
        voice.synthesize([SpeechLine(text=LONG_SENTENCE)], language="en")


def test_long_sentences_are_split_at_clauses_before_sending(tts: FakeTextToSpeech) -> None:
    with costs.recording() as calls:
        audio = _voice(tts).synthesize([SpeechLine(text=LONG_SENTENCE)], language="en")
    assert audio.duration_ms > 0 and len(tts.served) > 1
    assert all(longest_sentence_bytes(s.text) <= cloud_tts.MAX_SENTENCE_BYTES for s in tts.served)
    assert all(s.text.endswith(",") or s.text.endswith(".") for s in tts.served)
    assert " ".join(s.text for s in tts.served) == LONG_SENTENCE
    assert sum(c.units["characters"] for c in calls) == sum(len(s.text) for s in tts.served)
    assert {c.model for c in calls} == {"wavenet"}


def test_high_definition_voices_are_asked_for_linear16_and_encoded_to_mp3(
    tts: FakeTextToSpeech,
) -> None:
    from google.cloud.texttospeech_v1 import AudioEncoding

    voice = _voice(tts, tier="chirp3-hd")
    with costs.recording() as calls:
        audio = voice.synthesize(
            [SpeechLine(text="The sea turned black."), SpeechLine("Hold on!", "Mira", "female")],
            language="de",
        )
    assert [r.audio_config.audio_encoding for r in tts.requests] == [AudioEncoding.LINEAR16] * 2
    assert tts.requests[0].voice.name == "de-DE-Chirp3-HD-Charon"
    assert audio.content_type == "audio/mpeg"
    assert abs(audio.duration_ms - sum(s.tone_ms for s in tts.served)) < 200
    assert {c.model for c in calls} == {"chirp3-hd"}
    # Asked for MP3, such a voice is refused, as the service may.
    tts.reset()
    with pytest.raises(ProviderError):
        _voice(tts, voices={"Mira": "en-US-Journey-F"}).synthesize(
            [SpeechLine("Hi.", "Mira")], language="en"
        )


def test_voices_are_checked_against_list_voices(tts: FakeTextToSpeech) -> None:
    voice = _voice(tts, voices={"Mira": "en-US-Wavenet-Z"})
    found = voice.check_voices(voice.default_voices(["en", "ja"]))
    assert found["en-US-Wavenet-Z"] and not found["en-US-Wavenet-D"]
    assert not any(problem for name, problem in found.items() if name != "en-US-Wavenet-Z")
    assert tts.list_calls == 1


def test_a_hopeless_tts_quota_is_not_retried(tts: FakeTextToSpeech) -> None:
    tts.exhaust_quota_next("RequestsPerDayPerProject", "1000", times=3)
    with pytest.raises(QuotaExhausted, match="daily quota"):
        _voice(tts).synthesize([SpeechLine(text="Hello.")], language="en")
    assert len(tts.requests) == 1


def test_a_passing_tts_quota_is_retried(tts: FakeTextToSpeech) -> None:
    tts.fail_next(grpc.StatusCode.RESOURCE_EXHAUSTED)
    _voice(tts).synthesize([SpeechLine(text="Hello.")], language="en")
    assert len(tts.requests) == 2


def test_each_spoken_line_has_times_measured_from_its_own_audio(tts: FakeTextToSpeech) -> None:
    lines = [
        SpeechLine(text="The storm broke over the bay."),
        SpeechLine(text=LONG_SENTENCE, speaker="Mira", voice="female"),
        SpeechLine(text="Hold on!", speaker="Tomas", voice="male"),
    ]

    audio = _voice(tts).synthesize(lines, language="en")

    assert [(t.speaker, t.text) for t in audio.lines] == [
        ("narrator", "The storm broke over the bay."),
        ("Mira", LONG_SENTENCE),
        ("Tomas", "Hold on!"),
    ]
    # The long line went out as several requests and is still one timed line.
    assert len(tts.served) > len(lines)
    assert audio.lines[0].start_ms == 0
    for line, following in itertools.pairwise(audio.lines):
        assert line.start_ms < line.end_ms == following.start_ms
    assert audio.lines[-1].end_ms == audio.duration_ms
    # Each line lasts as long as the tones the fake spoke for its own requests (the MP3
    # frames hold a little encoder padding on top).
    served = [s.tone_ms for s in tts.served]
    spoken = [served[0], sum(served[1:-1]), served[-1]]
    for line, expected in zip(audio.lines, spoken, strict=True):
        assert expected <= line.end_ms - line.start_ms < expected + 150
