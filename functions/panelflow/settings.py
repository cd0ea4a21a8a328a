"""Settings: one frozen dataclass read once from the environment and validated at start-up."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from panelflow.domain import plan_limits, provider_models
from panelflow.domain import voices as voice_catalogue
from panelflow.domain.errors import ConfigurationError
from panelflow.provider_settings import DEFAULT_PRICES, check_model, prices_from, tier_from

STYLES = ("storybook", "manga", "noir", "watercolor", "pop-art")
LANGUAGES = ("en", "de", "es", "fr", "it", "pt", "nl", "ja")
# offline: no credentials (default); simulated: sleeps then tiny output (benchmarks, drills).
PROVIDERS = ("offline", "simulated", "google")
EMULATOR_VARIABLES = (
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
)
DEFAULT_PLANNER_MODEL = provider_models.DEFAULT_PLANNER_MODEL
DEFAULT_IMAGE_MODEL = provider_models.DEFAULT_IMAGE_MODEL
# The Gemini API version that documents structured output and image generation; Vertex AI
# keeps the SDK's own default.
DEFAULT_GEMINI_API_VERSION = "v1beta"
GEMINI_API_VERSIONS = ("v1", "v1beta", "v1alpha")
# A Cloud Text-to-Speech voice name starts with its language code, e.g. en-US-Neural2-F.
VOICE_NAME_PATTERN = re.compile(r"[a-z]{2,3}-[A-Z]{2}-\S+")
# A V4 signed URL lives at most seven days.
MAX_SIGNED_URL_S = 7 * 24 * 3600
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Settings:
    project_id: str
    environment: str = "local"  # local | production
    plan_topic: str = "panelflow-plan"
    panels_topic: str = "panelflow-panels"
    dead_letter_topic: str = "panelflow-dead-letter"
    bucket: str = "panelflow-assets"
    # Provider choice per port, one of PROVIDERS.
    planner: str = "offline"
    images: str = "offline"
    voice: str = "offline"
    # Job limits a caller sees in validation errors.
    max_story_chars: int = 5000
    max_body_bytes: int = 64 * 1024
    min_panels: int = 1
    max_panels: int = 24
    default_panels: int = 6
    styles: tuple[str, ...] = STYLES
    languages: tuple[str, ...] = LANGUAGES
    # A worker holding a panel longer than this is presumed dead and loses its lease.
    lease_seconds: float = 120.0
    # Claims of one panel before the sweeper gives up on it (crashes count, not errors).
    max_attempts: int = 5
    # A queued job not planned by then has its plan message sent again; a job not
    # finished by job_deadline_seconds after its last change is failed with a reason.
    plan_deadline_seconds: float = 300.0
    job_deadline_seconds: float = 1800.0
    idempotency_ttl_seconds: float = 24 * 3600.0
    # Days a job's story is kept after the job ends (deleting the job deletes it at once).
    story_retention_days: int = 90
    # Per user: jobs running at once, and panels ordered per UTC day (0: no limit).
    max_active_jobs: int = 3
    max_panels_per_day: int = 200
    # Lifetime of the signed asset links the API hands a job's owner.
    signed_url_seconds: int = 900
    # Local only: a PEM RSA key that signs asset links for the Storage emulator. In
    # production the function's service account signs through IAM (no key file exists).
    signing_key_file: str = ""
    # Also ask Firebase Auth whether the token was revoked or its user disabled or deleted
    # (one call per request; the Auth emulator answers it locally).
    check_revoked: bool = True
    emulator_hosts: Mapping[str, str] = field(default_factory=dict)
    # Browser origins (scheme://host[:port]) allowed to call the HTTP API cross-origin.
    cors_origins: tuple[str, ...] = ()
    # Gemini (planner and images when set to "google"): an API key or Vertex AI with ADC.
    gemini_api_key: str = field(default="", repr=False)
    gemini_vertex: bool = False
    gemini_location: str = ""
    # Empty means the SDK's own endpoint and version.
    gemini_base_url: str = ""
    gemini_api_version: str = ""
    planner_model: str = DEFAULT_PLANNER_MODEL
    image_model: str = DEFAULT_IMAGE_MODEL
    # Per HTTP request; 408, 429 and 5xx are retried within ``gemini_attempts`` and
    # ``gemini_retry_budget_s`` seconds of waiting (timed-out image requests are not re-sent).
    gemini_timeout_s: float = 60.0
    gemini_attempts: int = 3
    gemini_retry_budget_s: float = 60.0
    # Caps the planner's reply (and what it costs); thinking tokens count too.
    planner_max_output_tokens: int = 16_384
    # Models missing from panelflow.domain.provider_models are refused unless allowed.
    allow_unlisted_models: bool = False
    # Estimated prices for the cost ledger; see DEFAULT_PRICES.
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: DEFAULT_PRICES)
    # Narration and dialogue of one panel, in UTF-8 bytes (see domain.plan_limits).
    max_spoken_bytes: int = plan_limits.SPOKEN_BYTES_PER_PANEL
    # Exponential backoff between in-call retries, for Gemini and Text-to-Speech alike.
    retry_initial_s: float = 1.0
    retry_max_s: float = 10.0
    # Cloud Text-to-Speech (voice when set to "google"): host:port override, plaintext only on
    # loopback (a local fake); character name -> voice name ("" is the narrator).
    tts_endpoint: str = ""
    tts_insecure: bool = False
    tts_voices: Mapping[str, str] = field(default_factory=dict)
    # Default voice family: wavenet, or chirp3-hd (high definition, priced higher).
    tts_tier: str = voice_catalogue.DEFAULT_TIER
    tts_timeout_s: float = 30.0
    # Total time one synthesis request may spend retrying transient errors.
    tts_retry_budget_s: float = 60.0

    @property
    def uses_gemini(self) -> bool:
        return "google" in (self.planner, self.images)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Reads and validates settings; raises ConfigurationError naming the variable."""
        env = os.environ if env is None else env
        project_id = env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCLOUD_PROJECT") or ""
        if not project_id:
            raise ConfigurationError(
                "GOOGLE_CLOUD_PROJECT is not set", field="GOOGLE_CLOUD_PROJECT"
            )
        environment = env.get("PANELFLOW_ENV", "local")
        if environment not in ("local", "production"):
            raise ConfigurationError(
                f"PANELFLOW_ENV must be 'local' or 'production', not {environment!r}",
                field="PANELFLOW_ENV",
            )
        # Fail closed: Cloud Run (and so Cloud Functions 2nd gen) sets K_SERVICE on every
        # instance; there the settings are production whatever PANELFLOW_ENV says.
        # (FUNCTION_TARGET is no such sign: functions-framework sets it on any machine.)
        if env.get("K_SERVICE"):
            environment = "production"
        emulators = {name: env[name] for name in EMULATOR_VARIABLES if env.get(name)}
        default_providers = env.get("PANELFLOW_PROVIDERS", "offline")
        providers = {}
        for port in ("planner", "images", "voice"):
            variable = f"PANELFLOW_{port.upper()}"
            value = env.get(variable, default_providers)
            if value not in PROVIDERS:
                raise ConfigurationError(
                    f"{variable} must be one of {', '.join(PROVIDERS)}, not {value!r}",
                    field=variable,
                )
            providers[port] = value
        if env.get("PANELFLOW_AUTH"):
            # Tokens are always verified with firebase-admin; locally against the Auth emulator.
            raise ConfigurationError(
                "PANELFLOW_AUTH is no longer read: ID tokens are always verified with "
                "firebase-admin (locally against the Auth emulator that 'panelflow up' starts); "
                "unset it",
                field="PANELFLOW_AUTH",
            )
        if environment == "production":
            # An emulator host makes the SDKs trust forged tokens and unauthenticated writes.
            # Any *_EMULATOR_HOST, not only those this code reads: an SDK may read others.
            present = {
                name for name, value in env.items() if name.endswith("_EMULATOR_HOST") and value
            }
            if present:
                names = ", ".join(sorted(present))
                raise ConfigurationError(
                    f"production settings refuse emulator variables: {names}", field=names
                )
            if env.get("PANELFLOW_SIGNING_KEY_FILE"):
                raise ConfigurationError(
                    "PANELFLOW_SIGNING_KEY_FILE is for the local stack only: in production the "
                    "function's service account signs asset links through IAM",
                    field="PANELFLOW_SIGNING_KEY_FILE",
                )
        signing_key_file = env.get("PANELFLOW_SIGNING_KEY_FILE", "")
        if signing_key_file and not os.path.isfile(signing_key_file):
            raise ConfigurationError(
                f"PANELFLOW_SIGNING_KEY_FILE names no file: {signing_key_file!r}",
                field="PANELFLOW_SIGNING_KEY_FILE",
            )
        google = _google_settings(env, providers, production=environment == "production")
        return cls(
            project_id=project_id,
            environment=environment,
            plan_topic=env.get("PANELFLOW_PLAN_TOPIC", cls.plan_topic),
            panels_topic=env.get("PANELFLOW_PANELS_TOPIC", cls.panels_topic),
            dead_letter_topic=env.get("PANELFLOW_DEAD_LETTER_TOPIC", cls.dead_letter_topic),
            bucket=env.get("PANELFLOW_BUCKET", cls.bucket),
            planner=providers["planner"],
            images=providers["images"],
            voice=providers["voice"],
            max_story_chars=_int(env, "PANELFLOW_MAX_STORY_CHARS", cls.max_story_chars, 1),
            max_panels=_int(env, "PANELFLOW_MAX_PANELS", cls.max_panels, 1),
            default_panels=_int(env, "PANELFLOW_DEFAULT_PANELS", cls.default_panels, 1),
            lease_seconds=float(_int(env, "PANELFLOW_LEASE_SECONDS", int(cls.lease_seconds), 1)),
            max_attempts=_int(env, "PANELFLOW_MAX_ATTEMPTS", cls.max_attempts, 1),
            plan_deadline_seconds=float(
                _int(env, "PANELFLOW_PLAN_DEADLINE_SECONDS", int(cls.plan_deadline_seconds), 1)
            ),
            job_deadline_seconds=float(
                _int(env, "PANELFLOW_JOB_DEADLINE_SECONDS", int(cls.job_deadline_seconds), 1)
            ),
            story_retention_days=_int(
                env, "PANELFLOW_STORY_RETENTION_DAYS", cls.story_retention_days, 1, 3650
            ),
            max_active_jobs=_int(env, "PANELFLOW_MAX_ACTIVE_JOBS", cls.max_active_jobs, 0),
            max_panels_per_day=_int(env, "PANELFLOW_MAX_PANELS_PER_DAY", cls.max_panels_per_day, 0),
            signed_url_seconds=_int(
                env, "PANELFLOW_SIGNED_URL_SECONDS", cls.signed_url_seconds, 1, MAX_SIGNED_URL_S
            ),
            signing_key_file=signing_key_file,
            check_revoked=_bool(env, "PANELFLOW_AUTH_CHECK_REVOKED", True),
            emulator_hosts=emulators,
            cors_origins=_origins(env.get("PANELFLOW_CORS_ORIGINS", "")),
            **google,
        )


def _google_settings(
    env: Mapping[str, str], providers: Mapping[str, str], *, production: bool
) -> dict[str, Any]:
    """Fields of the Google providers; the credentials are checked only for a port using them."""
    values: dict[str, Any] = {
        "planner_model": env.get("PANELFLOW_PLANNER_MODEL") or DEFAULT_PLANNER_MODEL,
        "image_model": env.get("PANELFLOW_IMAGE_MODEL") or DEFAULT_IMAGE_MODEL,
        "gemini_timeout_s": _float(env, "PANELFLOW_GEMINI_TIMEOUT_S", 60.0, 0.1),
        "gemini_attempts": _int(env, "PANELFLOW_GEMINI_ATTEMPTS", 3, 1),
        "retry_initial_s": _float(env, "PANELFLOW_RETRY_INITIAL_S", 1.0, 0.0),
        "retry_max_s": _float(env, "PANELFLOW_RETRY_MAX_S", 10.0, 0.0),
        "tts_timeout_s": _float(env, "PANELFLOW_TTS_TIMEOUT_S", 30.0, 0.1),
        "tts_retry_budget_s": _float(env, "PANELFLOW_TTS_RETRY_BUDGET_S", 60.0, 0.0),
        "gemini_retry_budget_s": _float(env, "PANELFLOW_GEMINI_RETRY_BUDGET_S", 60.0, 0.0),
        "planner_max_output_tokens": _int(env, "PANELFLOW_PLANNER_MAX_OUTPUT_TOKENS", 16_384, 256),
        "allow_unlisted_models": _bool(env, "PANELFLOW_ALLOW_UNLISTED_MODELS", False),
        "prices": prices_from(env.get("PANELFLOW_PRICES", "")),
        "max_spoken_bytes": _int(
            env, "PANELFLOW_MAX_SPOKEN_BYTES", plan_limits.SPOKEN_BYTES_PER_PANEL, 1, 5_000
        ),
    }
    for variable, kind, key in (
        ("PANELFLOW_PLANNER_MODEL", "text", "planner_model"),
        ("PANELFLOW_IMAGE_MODEL", "image", "image_model"),
    ):
        check_model(variable, values[key], kind, allow_unlisted=values["allow_unlisted_models"])
    if "google" in (providers["planner"], providers["images"]):
        values.update(_gemini_settings(env, production=production))
    if providers["voice"] == "google":
        values.update(_tts_settings(env, production=production))
    return values


def _gemini_settings(env: Mapping[str, str], *, production: bool) -> dict[str, Any]:
    api_key = env.get("GEMINI_API_KEY", "").strip()
    vertex = _bool(env, "GOOGLE_GENAI_USE_VERTEXAI", False)
    location = env.get("GOOGLE_CLOUD_LOCATION", "").strip()
    if api_key and vertex:
        raise ConfigurationError(
            "GEMINI_API_KEY and GOOGLE_GENAI_USE_VERTEXAI=true are both set: choose the Gemini "
            "API (key) or Vertex AI (project, location and Application Default Credentials)",
            field="GEMINI_API_KEY",
        )
    if vertex and not location:
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
    base_url = env.get(base_variable, "").strip()
    if base_url:
        _check_base_url(base_variable, base_url, production=production)
    version = env.get("GOOGLE_GENAI_API_VERSION", "").strip()
    if version and version not in GEMINI_API_VERSIONS:
        raise ConfigurationError(
            f"GOOGLE_GENAI_API_VERSION must be one of {', '.join(GEMINI_API_VERSIONS)}, "
            f"not {version!r}",
            field="GOOGLE_GENAI_API_VERSION",
        )
    return {
        "gemini_api_key": api_key,
        "gemini_vertex": vertex,
        "gemini_location": location,
        "gemini_base_url": base_url,
        "gemini_api_version": version or ("" if vertex else DEFAULT_GEMINI_API_VERSION),
    }


def _tts_settings(env: Mapping[str, str], *, production: bool) -> dict[str, Any]:
    endpoint = env.get("PANELFLOW_TTS_ENDPOINT", "").strip()
    insecure = False
    if endpoint:
        host, _port = _host_port("PANELFLOW_TTS_ENDPOINT", endpoint)
        loopback = _is_loopback(host)
        # Plaintext by default only towards this machine (a local fake); TLS everywhere else.
        insecure = _bool(env, "PANELFLOW_TTS_INSECURE", loopback)
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
    elif env.get("PANELFLOW_TTS_INSECURE", "").strip():
        raise ConfigurationError(
            "PANELFLOW_TTS_INSECURE needs PANELFLOW_TTS_ENDPOINT", field="PANELFLOW_TTS_INSECURE"
        )
    return {
        "tts_endpoint": endpoint,
        "tts_insecure": insecure,
        "tts_voices": _voices(env.get("PANELFLOW_TTS_VOICES", "")),
        "tts_tier": tier_from(
            env.get("PANELFLOW_TTS_TIER", "").strip() or voice_catalogue.DEFAULT_TIER
        ),
    }


def _check_base_url(variable: str, url: str, *, production: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{variable} must be an http(s) URL such as https://host[:port], not {url!r}",
            field=variable,
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigurationError(
            f"{variable} has an invalid port: {url!r}", field=variable
        ) from None
    if parts.scheme == "http":
        # The API key travels in a header: plaintext is acceptable only to this machine.
        if not _is_loopback(parts.hostname):
            raise ConfigurationError(
                f"{variable} uses plain http to {parts.hostname!r}: only loopback addresses "
                "(127.0.0.0/8, ::1, localhost) may be reached without TLS",
                field=variable,
            )
        if production:
            raise ConfigurationError(
                f"production settings refuse a plain http {variable}", field=variable
            )


def _host_port(variable: str, value: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([A-Za-z0-9.-]+):(\d{1,5})", value)
    if not match:
        raise ConfigurationError(
            f"{variable} must be host:port (IPv6 as [::1]:port), not {value!r}", field=variable
        )
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise ConfigurationError(f"{variable} has an invalid port: {value!r}", field=variable)
    return host, port


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _voices(raw: str) -> dict[str, str]:
    variable = "PANELFLOW_TTS_VOICES"
    if not raw.strip():
        return {}
    try:
        voices = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"{variable} must be a JSON object such as "
            f'{{"Mira": "en-US-Neural2-F"}}: {error.msg} at character {error.pos}',
            field=variable,
        ) from None
    if not isinstance(voices, dict):
        raise ConfigurationError(
            f'{variable} must be a JSON object such as {{"Mira": "en-US-Neural2-F"}}',
            field=variable,
        )
    for name, voice in voices.items():
        if not isinstance(voice, str) or not VOICE_NAME_PATTERN.fullmatch(voice):
            raise ConfigurationError(
                f"{variable}: the voice for {name!r} must be a Cloud Text-to-Speech voice name "
                f"that starts with its language code, such as en-US-Neural2-F, not {voice!r}",
                field=variable,
            )
        if not voice_catalogue.tier_of(voice):
            raise ConfigurationError(
                f"{variable}: {voice!r} (for {name!r}) names no Cloud Text-to-Speech voice "
                f"family; known families: {', '.join(sorted(voice_catalogue.FAMILIES))}",
                field=variable,
            )
    return {str(name): voice for name, voice in voices.items()}


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False if value else default
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}", field=name)


def _float(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {raw!r}", field=name) from None
    if not value >= minimum or value == float("inf"):
        raise ConfigurationError(
            f"{name} must be a finite number of at least {minimum:g}", field=name
        )
    return value


def _origins(raw: str) -> tuple[str, ...]:
    """PANELFLOW_CORS_ORIGINS: comma-separated origins such as https://app.example.com."""
    origins = []
    for origin in (item.strip() for item in raw.split(",")):
        if not origin:
            continue
        parts = urlsplit(origin)
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            parts = parts._replace(scheme="")
        extra = parts.path or parts.query or parts.fragment or parts.username
        if parts.scheme not in ("http", "https") or not parts.hostname or extra:
            raise ConfigurationError(
                "PANELFLOW_CORS_ORIGINS must list origins such as https://app.example.com or "
                f"http://127.0.0.1:8080 (scheme, host, optional port; no path), not {origin!r}",
                field="PANELFLOW_CORS_ORIGINS",
            )
        origins.append(origin.lower())
    return tuple(origins)


def _int(
    env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}", field=name) from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}", field=name)
    if maximum is not None and value > maximum:
        raise ConfigurationError(f"{name} must be at most {maximum}", field=name)
    return value
