"""Rules that tie several settings together, run after the table has read each variable.

Each takes the values read by the table (by variable name) and raises ConfigurationError
naming the variable to change; those that settle a field return it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from panelflow.domain.errors import ConfigurationError
from panelflow.settings import parsers
from panelflow.settings.providers import check_model
from panelflow.settings.table import GEMINI, TEXT_TO_SPEECH, raw_value

# The Gemini API version that documents structured output and image generation; Vertex AI
# keeps the SDK's own default.
DEFAULT_GEMINI_API_VERSION = "v1beta"


def environment(env: Mapping[str, str], values: Mapping[str, Any]) -> str:
    """PANELFLOW_ENV, except that Cloud Run's K_SERVICE forces production."""
    # Fail closed: Cloud Run (and so Cloud Functions 2nd gen) sets K_SERVICE on every
    # instance; there the settings are production whatever PANELFLOW_ENV says.
    # (FUNCTION_TARGET is no such sign: functions-framework sets it on any machine.)
    if env.get("K_SERVICE"):
        return "production"
    return str(values["PANELFLOW_ENV"])


def refuse_retired(values: Mapping[str, Any]) -> None:
    if values["PANELFLOW_AUTH"]:
        # Tokens are always verified with firebase-admin; locally against the Auth emulator.
        raise ConfigurationError(
            "PANELFLOW_AUTH is no longer read: ID tokens are always verified with "
            "firebase-admin (locally against the Auth emulator that 'panelflow up' starts); "
            "unset it",
            field="PANELFLOW_AUTH",
        )


def refuse_local_only_in_production(env: Mapping[str, str], values: Mapping[str, Any]) -> None:
    # An emulator host makes the SDKs trust forged tokens and unauthenticated writes.
    # Any *_EMULATOR_HOST, not only those this code reads: an SDK may read others.
    present = {name for name, value in env.items() if name.endswith("_EMULATOR_HOST") and value}
    if present:
        names = ", ".join(sorted(present))
        raise ConfigurationError(
            f"production settings refuse emulator variables: {names}", field=names
        )
    if values["PANELFLOW_SIGNING_KEY_FILE"]:
        raise ConfigurationError(
            "PANELFLOW_SIGNING_KEY_FILE is for the local stack only: in production the "
            "function's service account signs asset links through IAM",
            field="PANELFLOW_SIGNING_KEY_FILE",
        )


def fcm_endpoint(values: Mapping[str, Any], *, production: bool) -> None:
    """Notifications carry a bearer token: plain http only to a local fake, never in
    production."""
    parts = urlsplit(values["PANELFLOW_FCM_ENDPOINT"])
    if parts.scheme == "http" and (production or not parsers.is_loopback(parts.hostname or "")):
        raise ConfigurationError(
            "PANELFLOW_FCM_ENDPOINT may use plain http only to a loopback host, and never "
            "in production",
            field="PANELFLOW_FCM_ENDPOINT",
        )


def services_in_use(values: Mapping[str, Any]) -> set[str]:
    """The Google services whose variables are read: Gemini, Text-to-Speech, both or none."""
    used = set()
    if "google" in (values["PANELFLOW_PLANNER"], values["PANELFLOW_IMAGES"]):
        used.add(GEMINI)
    if values["PANELFLOW_VOICE"] == "google":
        used.add(TEXT_TO_SPEECH)
    return used


def check_models(values: Mapping[str, Any]) -> None:
    """Retired models are refused always, unknown ones unless explicitly allowed."""
    allow = bool(values["PANELFLOW_ALLOW_UNLISTED_MODELS"])
    for variable, kind in (("PANELFLOW_PLANNER_MODEL", "text"), ("PANELFLOW_IMAGE_MODEL", "image")):
        check_model(variable, values[variable], kind, allow_unlisted=allow)


def gemini(values: Mapping[str, Any], *, production: bool) -> dict[str, Any]:
    """Key or Vertex AI (not both), and the endpoint and API version; returns those fields."""
    api_key, vertex = values["GEMINI_API_KEY"], values["GOOGLE_GENAI_USE_VERTEXAI"]
    if api_key and vertex:
        raise ConfigurationError(
            "GEMINI_API_KEY and GOOGLE_GENAI_USE_VERTEXAI=true are both set: choose the Gemini "
            "API (key) or Vertex AI (project, location and Application Default Credentials)",
            field="GEMINI_API_KEY",
        )
    if vertex and not values["GOOGLE_CLOUD_LOCATION"]:
        raise ConfigurationError(
            "GOOGLE_CLOUD_LOCATION is not set: Vertex AI (GOOGLE_GENAI_USE_VERTEXAI=true) "
            "needs a location such as us-central1 or global",
            field="GOOGLE_CLOUD_LOCATION",
        )
    if not api_key and not vertex:
        raise ConfigurationError(
            "GEMINI_API_KEY is not set: the google planner or image provider needs a Gemini API "
            "key, or GOOGLE_GENAI_USE_VERTEXAI=true with GOOGLE_CLOUD_LOCATION for Vertex AI",
            field="GEMINI_API_KEY",
        )
    # The SDK's own variable names: GOOGLE_VERTEX_BASE_URL applies to Vertex AI only.
    base_variable = "GOOGLE_VERTEX_BASE_URL" if vertex else "GOOGLE_GEMINI_BASE_URL"
    base_url = values[base_variable]
    if base_url:
        _refuse_plain_http(base_variable, base_url, production=production)
    version = values["GOOGLE_GENAI_API_VERSION"]
    return {
        "gemini_base_url": base_url,
        "gemini_api_version": version or ("" if vertex else DEFAULT_GEMINI_API_VERSION),
    }


def _refuse_plain_http(variable: str, url: str, *, production: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme != "http":
        return
    host = parts.hostname or ""
    # The API key travels in a header: plaintext is acceptable only to this machine.
    if not parsers.is_loopback(host):
        raise ConfigurationError(
            f"{variable} uses plain http to {host!r}: only loopback addresses "
            "(127.0.0.0/8, ::1, localhost) may be reached without TLS",
            field=variable,
        )
    if production:
        raise ConfigurationError(
            f"production settings refuse a plain http {variable}", field=variable
        )


def text_to_speech(
    env: Mapping[str, str], values: Mapping[str, Any], *, production: bool
) -> dict[str, Any]:
    """Plaintext gRPC only to a loopback endpoint, never in production; returns tts_insecure."""
    endpoint = values["PANELFLOW_TTS_ENDPOINT"]
    insecure_given = raw_value(env, "PANELFLOW_TTS_INSECURE") is not None
    if not endpoint:
        if insecure_given:
            raise ConfigurationError(
                "PANELFLOW_TTS_INSECURE needs PANELFLOW_TTS_ENDPOINT",
                field="PANELFLOW_TTS_INSECURE",
            )
        return {"tts_insecure": False}
    host, _port = parsers.host_port("PANELFLOW_TTS_ENDPOINT", endpoint)
    loopback = parsers.is_loopback(host)
    # Plaintext by default only towards this machine (a local fake); TLS everywhere else.
    insecure = values["PANELFLOW_TTS_INSECURE"] if insecure_given else loopback
    if insecure and not loopback:
        raise ConfigurationError(
            f"PANELFLOW_TTS_INSECURE=true is refused for {host!r}: a plaintext gRPC channel "
            "is allowed only to a loopback address (127.0.0.0/8, ::1, localhost)",
            field="PANELFLOW_TTS_INSECURE",
        )
    if insecure and production:
        raise ConfigurationError(
            "production settings refuse a plaintext PANELFLOW_TTS_ENDPOINT",
            field="PANELFLOW_TTS_ENDPOINT",
        )
    return {"tts_insecure": insecure}
