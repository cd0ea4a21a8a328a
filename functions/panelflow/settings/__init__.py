"""Settings: one frozen dataclass read once from the environment and validated at start-up.

Every variable is declared once, in ``panelflow.settings.table``; the rules that tie
several together are in ``panelflow.settings.checks``. ``python -m panelflow.settings
--markdown`` prints the README's Configuration table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from panelflow.domain.models import CUSTOM_STYLE, JobStatus, PanelStatus
from panelflow.domain.translation import TRANSLATION_NEEDS
from panelflow.settings import checks, table
from panelflow.settings.parsers import VOICE_NAME_PATTERN
from panelflow.settings.providers import DEFAULT_PRICES

__all__ = [
    "DEFAULT_PRICES",
    "LANGUAGES",
    "STYLES",
    "STYLE_TEXT_CHARS",
    "TRANSLATION_NEEDS",
    "VOICE_NAME_PATTERN",
    "Settings",
    "catalogue",
    "translation_available",
]

STYLES = ("storybook", "manga", "noir", "watercolor", "pop-art")
LANGUAGES = ("en", "de", "es", "fr", "it", "pt", "nl", "ja", "ar")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Fields without a default come from the environment through the settings table."""

    project_id: str
    environment: str  # local | production
    plan_topic: str
    panels_topic: str
    notify_topic: str
    dead_letter_topic: str
    exports_topic: str
    # The ffmpeg binary MP4 exports run; empty: ``ffmpeg`` on PATH.
    ffmpeg: str
    bucket: str
    # Provider choice per port, one of table.PROVIDERS.
    planner: str
    images: str
    voice: str
    # Job limits a caller sees in validation errors (and GET /catalogue).
    max_story_chars: int
    max_panels: int
    default_panels: int
    # A worker holding a panel longer than this is presumed dead and loses its lease.
    lease_seconds: float
    # Claims of one panel before the sweeper gives up on it (crashes count, not errors).
    max_attempts: int
    # A queued job not planned by then has its plan message sent again; a job not
    # finished by job_deadline_seconds after its last change is failed with a reason.
    plan_deadline_seconds: float
    job_deadline_seconds: float
    # Per user: jobs running at once, and panels ordered per UTC day (0: no limit).
    max_active_jobs: int
    max_panels_per_day: int
    # Days a job's story is kept after the job ends (deleting the job deletes it at once).
    story_retention_days: int
    # Lifetime of the signed asset links the API hands a job's owner.
    signed_url_seconds: int
    # Local only: a PEM RSA key that signs asset links for the Storage emulator. In
    # production the function's service account signs through IAM (no key file exists).
    signing_key_file: str
    # Also ask Firebase Auth whether the token was revoked or its user disabled or deleted.
    check_revoked: bool
    # Seconds an instance remembers each user's answer to that question (0: ask every time).
    auth_account_ttl_s: float
    # The planner the plan function uses, as the API is told it (it has no provider settings).
    translation_planner: str
    # Browser origins (scheme://host[:port]) allowed to call the HTTP API cross-origin.
    cors_origins: tuple[str, ...]
    # Notifications: the web app's address (for links) and FCM's endpoint and retry budget.
    app_url: str
    fcm_endpoint: str
    fcm_retry_budget_s: float
    # Gemini (planner and images when set to "google"): an API key or Vertex AI with ADC.
    gemini_api_key: str = field(repr=False)
    gemini_vertex: bool
    gemini_location: str
    # Empty means the SDK's own endpoint and version.
    gemini_base_url: str
    gemini_api_version: str
    planner_model: str
    image_model: str
    # Per HTTP request; 408, 429 and 5xx are retried within ``gemini_attempts`` and
    # ``gemini_retry_budget_s`` seconds of waiting (timed-out image requests are not re-sent).
    gemini_timeout_s: float
    gemini_attempts: int
    gemini_retry_budget_s: float
    # Caps the planner's reply (and what it costs); thinking tokens count too.
    planner_max_output_tokens: int
    # Estimated prices for the cost ledger; see DEFAULT_PRICES.
    prices: Mapping[str, Mapping[str, float]]
    # Narration and dialogue of one panel, in UTF-8 bytes (see domain.plan_limits).
    max_spoken_bytes: int
    # Exponential backoff between in-call retries, for Gemini and Text-to-Speech alike.
    retry_initial_s: float
    retry_max_s: float
    # Cloud Text-to-Speech (voice when set to "google"): host:port override, plaintext only on
    # loopback (a local fake); character name -> voice name ("" is the narrator).
    tts_endpoint: str
    tts_insecure: bool
    tts_voices: Mapping[str, str]
    # Default voice family: wavenet, or chirp3-hd (high definition, priced higher).
    tts_tier: str
    tts_timeout_s: float
    # Total time one synthesis request may spend retrying transient errors.
    tts_retry_budget_s: float
    # Not read from the environment: fixed by this version (and served by GET /catalogue).
    min_panels: int = 1
    styles: tuple[str, ...] = STYLES
    languages: tuple[str, ...] = LANGUAGES
    max_body_bytes: int = 64 * 1024
    idempotency_ttl_seconds: float = 24 * 3600.0

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
        values = table.read(env, (v for v in table.VARIABLES if not v.used_by))
        checks.refuse_retired(values)
        environment = checks.environment(env, values)
        production = environment == "production"
        if production:
            checks.refuse_local_only_in_production(env, values)
        checks.check_models(values)
        checks.fcm_endpoint(values, production=production)
        # A Google service's variables are read (and checked) only when a port uses it.
        in_use = checks.services_in_use(values)
        values |= table.read(env, (v for v in table.VARIABLES if v.used_by in in_use))
        values |= {v.name: v.default for v in table.VARIABLES if v.name not in values}
        fields: dict[str, Any] = {v.field: values[v.name] for v in table.VARIABLES if v.field}
        fields["environment"] = environment
        if table.GEMINI in in_use:
            fields |= checks.gemini(values, production=production)
        if table.TEXT_TO_SPEECH in in_use:
            fields |= checks.text_to_speech(env, values, production=production)
        return cls(**fields)


# The longest custom style description a job may carry.
STYLE_TEXT_CHARS = 300


def translation_available(settings: Settings) -> bool:
    """Whether this deployment's planner can translate a comic: the API reads it from
    PANELFLOW_TRANSLATION_PLANNER, a function with the planner from its own setting."""
    return "google" in (settings.planner, settings.translation_planner)


def catalogue(settings: Settings) -> dict[str, Any]:
    """What a client may offer: styles, languages, limits and the states a job passes through.

    Served by ``GET /catalogue`` so a client never keeps its own copy.
    """
    return {
        "styles": list(settings.styles),
        "languages": list(settings.languages),
        "panels": {
            "min": settings.min_panels,
            "max": settings.max_panels,
            "default": settings.default_panels,
        },
        "maxStoryChars": settings.max_story_chars,
        # Beside the presets: a style described in the owner's own words.
        "customStyle": {"style": CUSTOM_STYLE, "maxChars": STYLE_TEXT_CHARS},
        "translation": {
            "available": translation_available(settings),
            "reason": "" if translation_available(settings) else TRANSLATION_NEEDS,
        },
        "jobStates": [status.value for status in JobStatus],
        "terminalJobStates": [status.value for status in JobStatus if status.terminal],
        "panelStates": [status.value for status in PanelStatus],
        "finishedPanelStates": [status.value for status in PanelStatus if status.finished],
    }
