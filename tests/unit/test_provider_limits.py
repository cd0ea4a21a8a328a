"""Cost caps and catalogues: plan limits, the model registry, voices, prices and the ledger."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as api_exceptions
from google.rpc import error_details_pb2

from fakes.providers import InflatingPlanner
from panelflow.adapters import google_errors
from panelflow.adapters.pubsub_queue import PubSubPanelQueue
from panelflow.bootstrap import Services
from panelflow.domain import costs, plan_limits, provider_models, voices
from panelflow.domain.errors import (
    ConfigurationError,
    ProviderError,
    QuotaExhausted,
    TransientError,
)
from panelflow.domain.models import DialogueLine, JobRequest, PanelPlan
from panelflow.services.jobs import job_view, start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.settings import DEFAULT_PRICES, Settings

GOOGLE = {
    "GOOGLE_CLOUD_PROJECT": "demo-unit",
    "PANELFLOW_PROVIDERS": "google",
    "GEMINI_API_KEY": "k",
}


def _error(env: dict[str, str]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    return caught.value


# ---- plan limits ---------------------------------------------------------------------------


def test_clamp_leaves_a_plan_within_the_limits_unchanged() -> None:
    panel = PanelPlan(0, "A pier.", "Dawn.", "The boats left.", (DialogueLine("Ada", "Go!"),))
    assert plan_limits.clamp_panel(panel) == panel


def test_clamp_cuts_text_at_words_and_drops_lines_beyond_the_spoken_budget() -> None:
    words = "word " * 400
    panel = PanelPlan(
        0,
        scene=words,
        caption=words,
        narration=words,
        dialogue=tuple(DialogueLine("Ada", words) for _ in range(9)),
        characters=tuple(f"C{n}" for n in range(20)),
        image_prompt=words,
    )
    clamped = plan_limits.clamp_panel(panel, spoken_bytes=600)
    assert len(clamped.narration) <= plan_limits.NARRATION_CHARS
    assert clamped.narration.endswith("word\u2026")
    assert plan_limits.spoken_bytes(clamped) <= 600
    assert len(clamped.dialogue) <= plan_limits.DIALOGUE_LINES
    assert all(len(line.text) <= plan_limits.DIALOGUE_LINE_CHARS for line in clamped.dialogue)
    assert len(clamped.characters) == plan_limits.MAX_CHARACTERS
    assert len(clamped.scene) <= plan_limits.SCENE_CHARS
    assert len(clamped.image_prompt) <= plan_limits.IMAGE_PROMPT_CHARS


def test_the_spoken_budget_counts_utf8_bytes() -> None:
    panel = PanelPlan(0, "s", "", "日本語の文章です。" * 100)
    assert plan_limits.spoken_bytes(plan_limits.clamp_panel(panel, spoken_bytes=300)) <= 300


def test_an_inflating_planner_is_clamped_before_the_plan_is_saved(services: Services) -> None:
    services.planner = InflatingPlanner()  # type: ignore[misc]
    job = start_job(services, "owner", JobRequest("Make it long.", "noir", 3, "en"))
    plan_job(services, job.job_id)
    stored = services.store.get_job(job.job_id)
    assert stored is not None and len(stored.title) <= plan_limits.TITLE_CHARS
    assert len(stored.characters) == plan_limits.MAX_CHARACTERS
    for panel in services.store.list_panels(job.job_id):
        plan = PanelPlan(
            panel.index, panel.scene, panel.caption, panel.narration, tuple(panel.dialogue)
        )
        assert plan_limits.spoken_bytes(plan) <= plan_limits.SPOKEN_BYTES_PER_PANEL
        assert len(panel.dialogue) <= plan_limits.DIALOGUE_LINES


# ---- the offline ledger --------------------------------------------------------------------


def test_an_offline_job_records_its_calls_at_zero_cost(services: Services) -> None:
    job = start_job(services, "owner", JobRequest("Ada met Bo. They sailed.", "noir", 2, "en"))
    plan_job(services, job.job_id)
    for job_id, index in list(services.queue.panels):
        render_panel(services, job_id, index)
    view = job_view(services, services.store.get_job(job.job_id))
    cost = view["cost"]
    print("\noffline 2-panel job cost:", cost)
    assert cost["currency"] == "USD" and cost["estimate"] == 0.0
    kinds = {kind: entry["calls"] for kind, entry in cost["byKind"].items()}
    assert kinds == {"plan": 1, "reference": 1, "image": 2, "speech": 2}
    assert [panel["cost"]["calls"] for panel in view["panels"]] == [2, 2]
    assert all(c.provider == "offline" for c in services.store.list_costs(job.job_id))


def test_a_plan_step_that_fails_still_records_what_it_paid(services: Services) -> None:
    """The plan step writes its paid calls with the plan; when it fails, at once."""

    class RefusingSheets:
        def __init__(self, images: object) -> None:
            self.images = images

        def character_sheet(self, *_: object, **__: object) -> object:
            raise ProviderError("the image model refused the sheet")

        def __getattr__(self, name: str) -> object:
            return getattr(self.images, name)

    services.images = RefusingSheets(services.images)  # type: ignore[assignment,misc]
    job = start_job(services, "owner", JobRequest("Ada met Bo. They sailed.", "noir", 2, "en"))
    plan_job(services, job.job_id)
    stored = services.store.get_job(job.job_id)
    assert stored is not None and stored.status.value == "failed"
    kinds = sorted(call.kind for call in services.store.list_costs(job.job_id))
    assert kinds == ["plan", "reference"]


def test_prices_apply_per_million_tokens_and_per_image() -> None:
    plan = costs.PaidCall(
        "plan", "google", "gemini-3.5-flash", {"inputTokens": 2_000, "outputTokens": 10_000}
    )
    assert costs.price(plan, DEFAULT_PRICES).estimate == pytest.approx(0.001 + 0.03)
    image = costs.PaidCall("image", "google", "gemini-3.1-flash-image", {"images": 1})
    assert costs.price(image, DEFAULT_PRICES).estimate == pytest.approx(0.067)
    speech = costs.PaidCall("speech", "google", "chirp3-hd", {"characters": 1_000})
    assert costs.price(speech, DEFAULT_PRICES).estimate == pytest.approx(0.03)
    free = costs.PaidCall("image", "offline", "offline", {"images": 1})
    assert costs.price(free, DEFAULT_PRICES).estimate == 0.0


def test_prices_are_overridable_and_checked() -> None:
    settings = Settings.from_env(
        {**GOOGLE, "PANELFLOW_PRICES": '{"gemini-3.5-flash": {"outputTokens": 9}}'}
    )
    assert settings.prices["gemini-3.5-flash"] == {"outputTokens": 9.0}
    assert settings.prices["wavenet"] == DEFAULT_PRICES["wavenet"]
    for raw in ("[1]", '{"x": {"bananas": 1}}', '{"x": {"images": -1}}', "{"):
        assert _error({**GOOGLE, "PANELFLOW_PRICES": raw}).field == "PANELFLOW_PRICES"


# ---- models and settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "model", "words"),
    [
        ("PANELFLOW_PLANNER_MODEL", "gemini-2.5-flash", "retired; use gemini-3.5-flash"),
        ("PANELFLOW_IMAGE_MODEL", "gemini-2.5-flash-image", "retired; use gemini-3.1-flash-image"),
        ("PANELFLOW_PLANNER_MODEL", "gemini-3.1-flash-image", "not a text model"),
        ("PANELFLOW_IMAGE_MODEL", "gemini-banana-xl", "not a known Gemini image model"),
    ],
)
def test_retired_and_unknown_models_are_refused_naming_the_variable(variable, model, words):
    error = _error({**GOOGLE, variable: model})
    assert error.field == variable and words in error.message


def test_an_unlisted_model_may_be_allowed_but_never_a_retired_one() -> None:
    allowed = {**GOOGLE, "PANELFLOW_ALLOW_UNLISTED_MODELS": "true"}
    assert Settings.from_env({**allowed, "PANELFLOW_IMAGE_MODEL": "gemini-4-image"}).image_model
    assert _error({**allowed, "PANELFLOW_PLANNER_MODEL": "gemini-2.5-flash"}).field == (
        "PANELFLOW_PLANNER_MODEL"
    )
    assert provider_models.image_model("gemini-4-image").max_references == 3


def test_the_registry_knows_reference_limits_and_thinking() -> None:
    assert provider_models.image_model("gemini-3.1-flash-image").max_references == 14
    assert provider_models.MODELS["gemini-3-pro-image"].thinking
    assert "3:2" in provider_models.MODELS["gemini-3.1-flash-image"].aspect_ratios


def test_an_aspect_ratio_the_model_does_not_draw_is_refused_at_start_up() -> None:
    from panelflow.adapters.gemini import GeminiImageGenerator

    assert GeminiImageGenerator(None, model="gemini-3.1-flash-image", aspect_ratio="8:1")
    with pytest.raises(ConfigurationError) as caught:
        GeminiImageGenerator(None, model="gemini-3-pro-image", aspect_ratio="8:1")
    assert caught.value.field == "PANELFLOW_IMAGE_MODEL"


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
def test_api_version_accepts_the_published_ones(version: str) -> None:
    env = {**GOOGLE, "GOOGLE_GENAI_API_VERSION": version}
    assert Settings.from_env(env).gemini_api_version == version


@pytest.mark.parametrize("version", ["v2", "beta", "v1beta/", "latest"])
def test_api_version_refuses_anything_else(version: str) -> None:
    error = _error({**GOOGLE, "GOOGLE_GENAI_API_VERSION": version})
    assert error.field == "GOOGLE_GENAI_API_VERSION"


def test_tier_and_voice_families_are_checked() -> None:
    assert Settings.from_env({**GOOGLE, "PANELFLOW_TTS_TIER": "chirp3-hd"}).tts_tier == "chirp3-hd"
    assert _error({**GOOGLE, "PANELFLOW_TTS_TIER": "studio"}).field == "PANELFLOW_TTS_TIER"
    error = _error({**GOOGLE, "PANELFLOW_TTS_VOICES": '{"Mira": "en-US-Robot-F"}'})
    assert error.field == "PANELFLOW_TTS_VOICES" and "en-US-Robot-F" in error.message


def test_caps_are_settings() -> None:
    settings = Settings.from_env(
        {
            **GOOGLE,
            "PANELFLOW_PLANNER_MAX_OUTPUT_TOKENS": "2048",
            "PANELFLOW_MAX_SPOKEN_BYTES": "800",
        }
    )
    assert (settings.planner_max_output_tokens, settings.max_spoken_bytes) == (2048, 800)
    assert _error({**GOOGLE, "PANELFLOW_MAX_SPOKEN_BYTES": "9000"}).field == (
        "PANELFLOW_MAX_SPOKEN_BYTES"
    )


# ---- voices --------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", voices.TIERS)
@pytest.mark.parametrize("language", ["en", "de", "es", "fr", "it", "pt", "nl", "ja", "ar"])
def test_every_language_has_two_voices_a_gender_and_its_own_narrator(tier, language) -> None:
    voice_set = voices.voice_set(language, tier)
    assert len(set(voice_set.female)) >= 2 and len(set(voice_set.male)) >= 2
    assert voice_set.narrator not in voice_set.female + voice_set.male
    assert not set(voice_set.female) & set(voice_set.male)
    assert all(name.startswith(voices.LOCALES[language]) for name in voice_set.all())
    assert all(voices.tier_of(name) for name in voice_set.all())


def test_a_character_never_gets_the_narrators_voice() -> None:
    from panelflow.adapters.cloud_tts import CloudTextToSpeechSynthesizer
    from panelflow.domain.models import SpeechLine

    synthesizer = CloudTextToSpeechSynthesizer(client=None)
    narrator = synthesizer.voice_for(SpeechLine("Once."), "es")
    for name in [f"Person {n}" for n in range(40)]:
        for hint in ("female", "male", "neutral", narrator):
            assert synthesizer.voice_for(SpeechLine("Hi.", name, hint), "es") != narrator


# ---- google errors -------------------------------------------------------------------------


def _quota(quota_id: str, value: int) -> api_exceptions.ResourceExhausted:
    violation = error_details_pb2.QuotaFailure.Violation(quota_id=quota_id, quota_value=value)
    return api_exceptions.ResourceExhausted(
        "quota", details=[error_details_pb2.QuotaFailure(violations=[violation])]
    )


def test_quota_details_decide_between_waiting_and_giving_up() -> None:
    per_minute = _quota("RequestsPerMinutePerProject", 300)
    assert google_errors.is_transient(per_minute)
    assert type(google_errors.translate(per_minute, "TTS")) is TransientError
    for hopeless in (_quota("RequestsPerDayPerProject", 1000), _quota("RequestsPerMinute", 0)):
        assert not google_errors.is_transient(hopeless)
        assert type(google_errors.translate(hopeless, "TTS")) is QuotaExhausted
    # An old-style violation (no quota id) with the int64's default 0 is not "limit 0".
    old = error_details_pb2.QuotaFailure.Violation(subject="project:1", description="too many")
    legacy = api_exceptions.ResourceExhausted(
        "quota", details=[error_details_pb2.QuotaFailure(violations=[old])]
    )
    assert google_errors.is_transient(legacy)


def test_retry_info_is_read_from_json_and_protobuf() -> None:
    from google.protobuf import duration_pb2

    as_json = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.5s"}]
    assert google_errors.quota_verdict(as_json).retry_after == 12.5
    message = error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=3, nanos=5 * 10**8)
    )
    assert google_errors.quota_verdict([message]).retry_after == 3.5


def test_pubsub_publishing_no_longer_calls_every_error_transient() -> None:
    class Publisher:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def topic_path(self, project: str, topic: str) -> str:
            return f"projects/{project}/topics/{topic}"

        def publish(self, *_args: object, **_kwargs: object):
            from concurrent.futures import Future

            future: Future[str] = Future()
            future.set_exception(self.error)
            return future

    missing = PubSubPanelQueue(
        "p", "plan", "panels", publisher=Publisher(api_exceptions.NotFound("topic"))
    )
    with pytest.raises(ProviderError) as caught:
        missing.publish_plan("job")
    assert not caught.value.retryable
    busy = PubSubPanelQueue(
        "p", "plan", "panels", publisher=Publisher(api_exceptions.ServiceUnavailable("x"))
    )
    with pytest.raises(TransientError):
        busy.publish_plan("job")
