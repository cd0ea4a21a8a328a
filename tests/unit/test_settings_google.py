"""Settings for the Google providers: start-up validation names the variable at fault."""

from __future__ import annotations

import pytest

from panelflow.bootstrap import Services
from panelflow.domain.errors import ConfigurationError
from panelflow.settings import Settings

BASE = {"GOOGLE_CLOUD_PROJECT": "demo-unit"}
GOOGLE = {**BASE, "PANELFLOW_PROVIDERS": "google", "GEMINI_API_KEY": "test-key"}


def _error(env: dict[str, str]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    return caught.value


def test_offline_needs_no_google_configuration_and_ignores_it() -> None:
    settings = Settings.from_env({**BASE, "PANELFLOW_TTS_ENDPOINT": "not an endpoint"})
    assert (settings.planner, settings.images, settings.voice) == ("offline",) * 3
    assert not settings.uses_gemini
    assert settings.planner_model == "gemini-3.5-flash"
    assert settings.image_model == "gemini-3.1-flash-image"


def test_api_key_configuration_with_defaults() -> None:
    settings = Settings.from_env(GOOGLE)
    assert settings.uses_gemini
    assert settings.gemini_api_key == "test-key" and not settings.gemini_vertex
    assert settings.gemini_api_version == "v1beta"
    assert settings.gemini_base_url == "" and settings.tts_endpoint == ""
    assert (settings.gemini_timeout_s, settings.gemini_attempts) == (60.0, 3)
    assert (settings.retry_initial_s, settings.retry_max_s) == (1.0, 10.0)
    assert (settings.tts_timeout_s, settings.tts_retry_budget_s) == (30.0, 60.0)
    assert "test-key" not in repr(settings)


def test_models_timeouts_and_budgets_are_configurable() -> None:
    settings = Settings.from_env(
        {
            **GOOGLE,
            "PANELFLOW_PLANNER_MODEL": "gemini-3.1-pro-preview",
            "PANELFLOW_IMAGE_MODEL": "gemini-3-pro-image",
            "PANELFLOW_GEMINI_TIMEOUT_S": "12.5",
            "PANELFLOW_GEMINI_ATTEMPTS": "5",
            "PANELFLOW_RETRY_INITIAL_S": "0.25",
            "PANELFLOW_RETRY_MAX_S": "4",
            "PANELFLOW_TTS_TIMEOUT_S": "9",
            "PANELFLOW_TTS_RETRY_BUDGET_S": "0",
            "GOOGLE_GENAI_API_VERSION": "v1",
        }
    )
    assert settings.planner_model == "gemini-3.1-pro-preview"
    assert settings.image_model == "gemini-3-pro-image"
    assert settings.gemini_timeout_s == 12.5 and settings.gemini_attempts == 5
    assert (settings.retry_initial_s, settings.retry_max_s) == (0.25, 4.0)
    assert (settings.tts_timeout_s, settings.tts_retry_budget_s) == (9.0, 0.0)
    assert settings.gemini_api_version == "v1"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PANELFLOW_GEMINI_TIMEOUT_S", "soon"),
        ("PANELFLOW_GEMINI_TIMEOUT_S", "0"),
        ("PANELFLOW_GEMINI_TIMEOUT_S", "inf"),
        ("PANELFLOW_GEMINI_ATTEMPTS", "0"),
        ("PANELFLOW_RETRY_INITIAL_S", "-1"),
        ("PANELFLOW_TTS_RETRY_BUDGET_S", "nan"),
    ],
)
def test_bad_numbers_name_their_variable(variable: str, value: str) -> None:
    assert _error({**GOOGLE, variable: value}).field == variable


def test_google_without_credentials_names_both_ways_to_provide_them() -> None:
    error = _error({**BASE, "PANELFLOW_PROVIDERS": "google"})
    assert error.field == "GEMINI_API_KEY"
    assert "GEMINI_API_KEY" in error.message and "GOOGLE_GENAI_USE_VERTEXAI" in error.message


def test_only_the_voice_on_google_needs_no_gemini_credentials() -> None:
    settings = Settings.from_env({**BASE, "PANELFLOW_VOICE": "google"})
    assert settings.voice == "google" and not settings.uses_gemini
    assert _error({**BASE, "PANELFLOW_IMAGES": "google"}).field == "GEMINI_API_KEY"


def test_api_key_and_vertex_together_are_contradictory() -> None:
    error = _error({**GOOGLE, "GOOGLE_GENAI_USE_VERTEXAI": "true"})
    assert error.field == "GEMINI_API_KEY"
    assert "both set" in error.message


def test_vertex_needs_a_location_and_then_uses_adc() -> None:
    vertex = {**BASE, "PANELFLOW_PLANNER": "google", "GOOGLE_GENAI_USE_VERTEXAI": "true"}
    assert _error(vertex).field == "GOOGLE_CLOUD_LOCATION"
    settings = Settings.from_env({**vertex, "GOOGLE_CLOUD_LOCATION": "us-central1"})
    assert settings.gemini_vertex and settings.gemini_location == "us-central1"
    assert settings.gemini_api_key == ""
    # Vertex AI keeps the SDK's own API version; its base URL variable is the SDK's too.
    assert settings.gemini_api_version == ""
    assert _error({**vertex, "GOOGLE_GENAI_USE_VERTEXAI": "perhaps"}).field == (
        "GOOGLE_GENAI_USE_VERTEXAI"
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8123", "http://localhost:9", "http://[::1]:80/", "https://proxy.example"],
)
def test_base_url_accepts_https_anywhere_and_http_on_loopback(url: str) -> None:
    assert Settings.from_env({**GOOGLE, "GOOGLE_GEMINI_BASE_URL": url}).gemini_base_url == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://gemini.example.com", "plain http"),
        ("ftp://127.0.0.1", "http(s) URL"),
        ("127.0.0.1:8080", "http(s) URL"),
        ("http://127.0.0.1:99999", "invalid port"),
    ],
)
def test_base_url_refusals_name_the_variable(url: str, reason: str) -> None:
    error = _error({**GOOGLE, "GOOGLE_GEMINI_BASE_URL": url})
    assert error.field == "GOOGLE_GEMINI_BASE_URL"
    assert reason in error.message


def test_vertex_base_url_comes_from_its_own_variable() -> None:
    env = {
        **BASE,
        "PANELFLOW_PLANNER": "google",
        "GOOGLE_GENAI_USE_VERTEXAI": "1",
        "GOOGLE_CLOUD_LOCATION": "global",
        "GOOGLE_GEMINI_BASE_URL": "http://not-used.example",
        "GOOGLE_VERTEX_BASE_URL": "https://vertex-proxy.example",
    }
    assert Settings.from_env(env).gemini_base_url == "https://vertex-proxy.example"


@pytest.mark.parametrize(
    ("endpoint", "insecure"),
    [
        ("127.0.0.1:50051", True),
        ("127.9.8.7:1", True),
        ("localhost:50051", True),
        ("[::1]:50051", True),
        ("texttospeech.googleapis.com:443", False),
        ("10.0.0.5:443", False),
    ],
)
def test_tts_endpoint_is_plaintext_only_on_loopback(endpoint: str, insecure: bool) -> None:
    settings = Settings.from_env({**GOOGLE, "PANELFLOW_TTS_ENDPOINT": endpoint})
    assert settings.tts_endpoint == endpoint
    assert settings.tts_insecure is insecure


@pytest.mark.parametrize(
    "endpoint", ["localhost", "127.0.0.1", ":50051", "host:port", "::1:50051", "http://h:1", "h:0"]
)
def test_tts_endpoint_must_be_host_port(endpoint: str) -> None:
    error = _error({**GOOGLE, "PANELFLOW_TTS_ENDPOINT": endpoint})
    assert error.field == "PANELFLOW_TTS_ENDPOINT"
    assert "host:port" in error.message or "invalid port" in error.message


def test_insecure_tts_channel_is_refused_off_loopback_and_in_production() -> None:
    error = _error(
        {**GOOGLE, "PANELFLOW_TTS_ENDPOINT": "tts.example.com:443", "PANELFLOW_TTS_INSECURE": "1"}
    )
    assert error.field == "PANELFLOW_TTS_INSECURE"
    assert "loopback" in error.message
    # Explicit TLS to a loopback endpoint is allowed (a local TLS proxy).
    tls = Settings.from_env(
        {**GOOGLE, "PANELFLOW_TTS_ENDPOINT": "127.0.0.1:8443", "PANELFLOW_TTS_INSECURE": "false"}
    )
    assert not tls.tts_insecure
    production = {**GOOGLE, "PANELFLOW_ENV": "production"}
    assert _error({**production, "PANELFLOW_TTS_ENDPOINT": "127.0.0.1:1"}).field == (
        "PANELFLOW_TTS_ENDPOINT"
    )
    assert _error({**production, "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:1"}).field == (
        "GOOGLE_GEMINI_BASE_URL"
    )
    assert _error({**GOOGLE, "PANELFLOW_TTS_INSECURE": "true"}).field == "PANELFLOW_TTS_INSECURE"


def test_tts_voices_map_is_parsed_and_checked() -> None:
    settings = Settings.from_env(
        {**GOOGLE, "PANELFLOW_TTS_VOICES": '{"Mira": "en-US-Neural2-F", "": "en-GB-Wavenet-B"}'}
    )
    assert settings.tts_voices == {"Mira": "en-US-Neural2-F", "": "en-GB-Wavenet-B"}
    for raw, reason in (
        ("{Mira: x}", "JSON object"),
        ('["en-US-Neural2-F"]', "JSON object"),
        ('{"Mira": "Neural2-F"}', "'Mira'"),
        ('{"Mira": 3}', "language code"),
    ):
        error = _error({**GOOGLE, "PANELFLOW_TTS_VOICES": raw})
        assert error.field == "PANELFLOW_TTS_VOICES"
        assert reason in error.message


def test_existing_validation_is_unchanged() -> None:
    assert _error({**BASE, "PANELFLOW_PROVIDERS": "openai"}).field == "PANELFLOW_PLANNER"
    assert _error({**GOOGLE, "PANELFLOW_ENV": "staging"}).field == "PANELFLOW_ENV"
    production = {
        **GOOGLE,
        "PANELFLOW_ENV": "production",
        "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8080",
    }
    assert "emulator" in _error(production).message


def test_services_wire_the_google_adapters_sharing_one_genai_client() -> None:
    from panelflow.adapters.cloud_tts import CloudTextToSpeechSynthesizer
    from panelflow.adapters.gemini import GeminiImageGenerator, GeminiStoryPlanner

    settings = Settings.from_env(
        {
            **GOOGLE,
            "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:9",
            "PANELFLOW_TTS_ENDPOINT": "127.0.0.1:9",
        }
    )
    services = Services(settings)
    assert isinstance(services.planner, GeminiStoryPlanner)
    assert isinstance(services.images, GeminiImageGenerator)
    assert isinstance(services.voice, CloudTextToSpeechSynthesizer)
    assert services.planner._client is services.images._client is services.genai_client
    # The model is part of asset names: another model never reuses a stored image.
    assert services.image_engine == "google-gemini-3.1-flash-image-1"
