"""The settings table: every environment variable Panelflow reads, declared once.

``Settings.from_env`` reads the environment through it, and the README's Configuration
table is generated from it (``python -m panelflow.settings --markdown``). Rules that tie
several variables together live in ``panelflow.settings.checks``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from panelflow.domain import plan_limits, provider_models
from panelflow.domain import voices as voice_catalogue
from panelflow.domain.errors import ConfigurationError
from panelflow.settings import parsers
from panelflow.settings.providers import DEFAULT_PRICES, prices_from

# offline: no credentials (default); simulated: sleeps then tiny output (benchmarks, drills).
PROVIDERS = ("offline", "simulated", "google")
ENVIRONMENTS = ("local", "production")
GEMINI_API_VERSIONS = ("v1", "v1beta", "v1alpha")
# A V4 signed URL lives at most seven days.
MAX_SIGNED_URL_S = 7 * 24 * 3600
# Values of Variable.used_by: read only when a port uses that Google service.
GEMINI = "gemini"
TEXT_TO_SPEECH = "tts"
_USED_BY_NOTE = {
    GEMINI: "Read when a port uses Gemini.",
    TEXT_TO_SPEECH: "Read when voice is google.",
}


@dataclass(frozen=True)
class Variable:
    """One environment variable: where it goes, how it is read and checked, what it means."""

    name: str
    # The Settings field it fills; None when only the cross-field checks read it.
    field: str | None
    parse: Callable[[str, str], Any]
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    # A further check of the parsed value: (variable, value), raises ConfigurationError.
    check: Callable[[str, Any], object] | None = None
    # Another variable whose value stands in when this one is unset.
    fallback: str | None = None
    required: bool = False
    # "" (always read), GEMINI or TEXT_TO_SPEECH: otherwise the default stands, unchecked.
    used_by: str = ""
    # The README's default, where the default is not a plain value (computed, or a table).
    shown_default: str | None = None

    def read(self, env: Mapping[str, str]) -> Any:
        raw = raw_value(env, self.name)
        source = ""
        if raw is None and self.fallback:
            raw, source = raw_value(env, self.fallback), f" (from {self.fallback})"
        if raw is None:
            if self.required:
                raise ConfigurationError(f"{self.name} is not set", field=self.name)
            return self.default
        value = self.parse(self.name, raw)
        self._check(value, source)
        return value

    def _check(self, value: Any, source: str) -> None:
        if self.choices and value not in self.choices:
            raise ConfigurationError(
                f"{self.name} must be one of {', '.join(self.choices)}, not {value!r}{source}",
                field=self.name,
            )
        if self.minimum is not None and not value >= self.minimum:
            raise ConfigurationError(
                f"{self.name} must be at least {self.minimum:g}", field=self.name
            )
        if self.maximum is not None and not value <= self.maximum:
            raise ConfigurationError(
                f"{self.name} must be at most {self.maximum:g}", field=self.name
            )
        if self.check is not None:
            self.check(self.name, value)


def raw_value(env: Mapping[str, str], name: str) -> str | None:
    """The variable's text without surrounding blanks; None when unset or empty."""
    raw = env.get(name, "").strip()
    return raw or None


# fmt: off
# One variable a line, so the table reads as a table (hence E501 is off for this file).
VARIABLES: tuple[Variable, ...] = (
    Variable("GOOGLE_CLOUD_PROJECT", "project_id", parsers.text, "", "project id (`demo-panelflow` locally)", fallback="GCLOUD_PROJECT", required=True),
    Variable("PANELFLOW_ENV", "environment", parsers.text, "local", "`production` refuses any `*_EMULATOR_HOST`, `PANELFLOW_SIGNING_KEY_FILE` and plaintext endpoints; `K_SERVICE` (set on Cloud Run) forces it", choices=ENVIRONMENTS),
    Variable("PANELFLOW_PROVIDERS", None, parsers.text, "offline", "default provider of the three ports below: `offline` (no credentials), `simulated` (sleeps; benchmarks and drills), `google` (Gemini and Cloud Text-to-Speech)"),
    Variable("PANELFLOW_PLANNER", "planner", parsers.text, "offline", "story planner", choices=PROVIDERS, fallback="PANELFLOW_PROVIDERS"),
    Variable("PANELFLOW_IMAGES", "images", parsers.text, "offline", "image generator", choices=PROVIDERS, fallback="PANELFLOW_PROVIDERS"),
    Variable("PANELFLOW_VOICE", "voice", parsers.text, "offline", "speech synthesizer", choices=PROVIDERS, fallback="PANELFLOW_PROVIDERS"),
    Variable("PANELFLOW_TRANSLATION_PLANNER", "translation_planner", parsers.text, "", "the plan function's planner, told to the API (which holds no model credentials) so it can answer whether comics can be translated; the local stack and Terraform set it", choices=("", *PROVIDERS)),
    Variable("PANELFLOW_AUTH", None, parsers.text, "", "no longer read, and refused: ID tokens are always verified with firebase-admin (locally against the Auth emulator)", shown_default="— (must be unset)"),
    Variable("PANELFLOW_BUCKET", "bucket", parsers.text, "panelflow-assets", "assets bucket"),
    Variable("PANELFLOW_PLAN_TOPIC", "plan_topic", parsers.text, "panelflow-plan", "topic of plan messages"),
    Variable("PANELFLOW_PANELS_TOPIC", "panels_topic", parsers.text, "panelflow-panels", "topic of panel messages"),
    Variable("PANELFLOW_NOTIFY_TOPIC", "notify_topic", parsers.text, "panelflow-notify", "topic of job-finished messages (the notifier's)"),
    Variable("PANELFLOW_DEAD_LETTER_TOPIC", "dead_letter_topic", parsers.text, "panelflow-dead-letter", "dead-letter topic"),
    Variable("PANELFLOW_EXPORTS_TOPIC", "exports_topic", parsers.text, "panelflow-exports", "topic of export messages (PDF, CBZ, MP4)"),
    Variable("PANELFLOW_FFMPEG", "ffmpeg", parsers.text, "", "ffmpeg binary for MP4 exports; empty: `ffmpeg` on PATH (the runtime image's in production; see docs/exports.md)"),
    Variable("PANELFLOW_MAX_STORY_CHARS", "max_story_chars", parsers.integer, 5000, "longest story accepted, in characters", minimum=1),
    Variable("PANELFLOW_MAX_PANELS", "max_panels", parsers.integer, 24, "most panels a job may ask for", minimum=1),
    Variable("PANELFLOW_DEFAULT_PANELS", "default_panels", parsers.integer, 6, "panels of a job that does not say", minimum=1),
    Variable("PANELFLOW_LEASE_SECONDS", "lease_seconds", parsers.whole_seconds, 120.0, "a worker silent this long loses its panel's lease (keep it ≥ the worker's timeout)", minimum=1),
    Variable("PANELFLOW_MAX_ATTEMPTS", "max_attempts", parsers.integer, 5, "claims of one panel before the sweeper fails it (`worker_lost`)", minimum=1),
    Variable("PANELFLOW_PLAN_DEADLINE_SECONDS", "plan_deadline_seconds", parsers.whole_seconds, 300.0, "the sweeper re-sends the plan message of a job queued this long", minimum=1),
    Variable("PANELFLOW_JOB_DEADLINE_SECONDS", "job_deadline_seconds", parsers.whole_seconds, 1800.0, "the sweeper fails a job unchanged this long, with a reason", minimum=1),
    Variable("PANELFLOW_MAX_ACTIVE_JOBS", "max_active_jobs", parsers.integer, 3, "per user: jobs running at once (0: no limit)", minimum=0),
    Variable("PANELFLOW_MAX_PANELS_PER_DAY", "max_panels_per_day", parsers.integer, 200, "per user: panels ordered per UTC day (0: no limit)", minimum=0),
    Variable("PANELFLOW_STORY_RETENTION_DAYS", "story_retention_days", parsers.integer, 90, "days a job's story is kept after the job ends (deleting the job deletes it at once); see docs/security.md", minimum=1, maximum=3650),
    Variable("PANELFLOW_SIGNED_URL_SECONDS", "signed_url_seconds", parsers.integer, 900, "lifetime of the signed asset links `GET /jobs/{jobId}` hands the owner", minimum=1, maximum=MAX_SIGNED_URL_S),
    Variable("PANELFLOW_SIGNING_KEY_FILE", "signing_key_file", parsers.text, "", "local only: the PEM RSA key that signs asset links for the Storage emulator (the local stack makes one); production signs with the service account through IAM and refuses this", check=parsers.existing_file),
    Variable("PANELFLOW_AUTH_CHECK_REVOKED", "check_revoked", parsers.boolean, True, "also ask Firebase Auth (or its emulator) whether the token was revoked or its user disabled or deleted; `false` saves that lookup"),
    Variable("PANELFLOW_AUTH_ACCOUNT_TTL_S", "auth_account_ttl_s", parsers.number, 10.0, "seconds an instance remembers a user's answer to that lookup (one lookup per user that often, not per request; a user disabled or signed out is refused once the answer is that old; `0` asks on every request)", minimum=0),
    Variable("PANELFLOW_CORS_ORIGINS", "cors_origins", parsers.origins, (), "comma-separated browser origins allowed to call the API; the local stack sets the web client's"),
    Variable("PANELFLOW_PLANNER_MODEL", "planner_model", parsers.text, provider_models.DEFAULT_PLANNER_MODEL, "Gemini model that plans; retired and unknown ids are refused at start-up (the registry: `domain/provider_models.py`)"),
    Variable("PANELFLOW_IMAGE_MODEL", "image_model", parsers.text, provider_models.DEFAULT_IMAGE_MODEL, "Gemini model that draws; checked like the planner's"),
    Variable("PANELFLOW_ALLOW_UNLISTED_MODELS", None, parsers.boolean, False, "`true` accepts a model released after the registry (never a retired one); it is assumed to take 3 reference images"),
    Variable("PANELFLOW_GEMINI_TIMEOUT_S", "gemini_timeout_s", parsers.number, 60.0, "Gemini per-request timeout, seconds", minimum=0.1),
    Variable("PANELFLOW_GEMINI_ATTEMPTS", "gemini_attempts", parsers.integer, 3, "attempts per Gemini call (retrying 408, 429, 5xx; timeouts for the planner only)", minimum=1),
    Variable("PANELFLOW_GEMINI_RETRY_BUDGET_S", "gemini_retry_budget_s", parsers.number, 60.0, "seconds of waiting between Gemini retries per call; a longer `RetryInfo` delay goes back to the queue", minimum=0),
    Variable("PANELFLOW_PLANNER_MAX_OUTPUT_TOKENS", "planner_max_output_tokens", parsers.integer, 16_384, "cap on the planner's reply, thinking included", minimum=256),
    Variable("PANELFLOW_MAX_SPOKEN_BYTES", "max_spoken_bytes", parsers.integer, plan_limits.SPOKEN_BYTES_PER_PANEL, "narration and dialogue per panel, UTF-8 bytes", minimum=1, maximum=5_000),
    Variable("PANELFLOW_PRICES", "prices", prices_from, DEFAULT_PRICES, 'JSON overriding entries of the price table, e.g. `{"gemini-3.5-flash": {"inputTokens": 0.5, "outputTokens": 3}}` (see [Costs](#costs))', shown_default="the built-in table"),
    Variable("PANELFLOW_RETRY_INITIAL_S", "retry_initial_s", parsers.number, 1.0, "first backoff between in-call retries (Gemini and Text-to-Speech), seconds", minimum=0),
    Variable("PANELFLOW_RETRY_MAX_S", "retry_max_s", parsers.number, 10.0, "longest backoff between in-call retries, seconds", minimum=0),
    Variable("PANELFLOW_TTS_TIMEOUT_S", "tts_timeout_s", parsers.number, 30.0, "Text-to-Speech per-request timeout, seconds", minimum=0.1),
    Variable("PANELFLOW_TTS_RETRY_BUDGET_S", "tts_retry_budget_s", parsers.number, 60.0, "total time one synthesis request may spend retrying (0: no retries)", minimum=0),
    Variable("PANELFLOW_APP_URL", "app_url", parsers.text, "", "the web app's address; a notification links to `<it>/#/jobs/<jobId>` (relative when unset)", check=parsers.http_url),
    Variable("PANELFLOW_FCM_ENDPOINT", "fcm_endpoint", parsers.text, "https://fcm.googleapis.com", "FCM HTTP v1 endpoint override, for a local fake (plain `http` only to loopback, never in production); the notifier sends with Application Default Credentials to any other", check=parsers.http_url),
    Variable("PANELFLOW_FCM_RETRY_BUDGET_S", "fcm_retry_budget_s", parsers.number, 30.0, "seconds one notification may spend retrying FCM's 429, 5xx and timeouts before it is given up (logged)", minimum=0),
    Variable("GEMINI_API_KEY", "gemini_api_key", parsers.text, "", "Gemini API key; or Vertex AI, below (not both)", used_by=GEMINI),
    Variable("GOOGLE_GENAI_USE_VERTEXAI", "gemini_vertex", parsers.boolean, False, "`true`: Vertex AI with Application Default Credentials and `GOOGLE_CLOUD_LOCATION`", used_by=GEMINI),
    Variable("GOOGLE_CLOUD_LOCATION", "gemini_location", parsers.text, "", "Vertex AI location such as `us-central1` or `global`", used_by=GEMINI),
    Variable("GOOGLE_GEMINI_BASE_URL", "gemini_base_url", parsers.text, "", "Gemini API endpoint override (plain `http` only to loopback, never in production)", check=parsers.http_url, used_by=GEMINI),
    Variable("GOOGLE_VERTEX_BASE_URL", None, parsers.text, "", "the same for Vertex AI (takes the place of `GOOGLE_GEMINI_BASE_URL` there)", check=parsers.http_url, used_by=GEMINI),
    Variable("GOOGLE_GENAI_API_VERSION", "gemini_api_version", parsers.text, "", "Gemini API version", choices=GEMINI_API_VERSIONS, used_by=GEMINI, shown_default="`v1beta` (Vertex AI: the SDK's)"),
    Variable("PANELFLOW_TTS_ENDPOINT", "tts_endpoint", parsers.text, "", "Text-to-Speech `host:port` override; plaintext gRPC only to loopback (`127.0.0.0/8`, `::1`, `localhost`), TLS elsewhere", check=parsers.host_port, used_by=TEXT_TO_SPEECH),
    Variable("PANELFLOW_TTS_INSECURE", "tts_insecure", parsers.boolean, False, "`false` forces TLS to a loopback endpoint; `true` is refused for any other host, and without an endpoint", used_by=TEXT_TO_SPEECH, shown_default="`true` for a loopback endpoint"),
    Variable("PANELFLOW_TTS_TIER", "tts_tier", parsers.text, voice_catalogue.DEFAULT_TIER, "default voices; `chirp3-hd` is high definition, about twice the price", choices=voice_catalogue.TIERS, used_by=TEXT_TO_SPEECH),
    Variable("PANELFLOW_TTS_VOICES", "tts_voices", parsers.voices, {}, 'JSON: character name → voice, `""` for the narrator, e.g. `{"Mira": "en-US-Neural2-F"}`; a name of no known voice family is refused', used_by=TEXT_TO_SPEECH),
)
# fmt: on
BY_NAME = {variable.name: variable for variable in VARIABLES}


def read(env: Mapping[str, str], variables: Iterable[Variable]) -> dict[str, Any]:
    """Each variable's checked value (or default), by variable name."""
    return {variable.name: variable.read(env) for variable in variables}


def markdown() -> str:
    """The README's Configuration table, one row per variable."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for variable in VARIABLES:
        meaning = " ".join(part for part in (variable.doc, _limits(variable)) if part)
        if variable.used_by:
            meaning = f"{meaning}. {_USED_BY_NOTE[variable.used_by]}"
        rows.append(f"| `{variable.name}` | {_shown_default(variable)} | {meaning} |")
    return "\n".join(rows) + "\n"


def _shown_default(variable: Variable) -> str:
    if variable.shown_default is not None:
        return variable.shown_default
    if variable.required:
        return f"— (required; else `{variable.fallback}`)" if variable.fallback else "— (required)"
    if variable.fallback:
        return f"`{variable.fallback}`"
    default = variable.default
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, int | float):
        return f"{default:g}"
    return f"`{default}`" if default else "—"


def _limits(variable: Variable) -> str:
    limits = []
    if variable.choices:
        limits.append("one of " + ", ".join(f"`{choice}`" for choice in variable.choices))
    if variable.minimum is not None:
        limits.append(f"at least {variable.minimum:g}")
    if variable.maximum is not None:
        limits.append(f"at most {variable.maximum:g}")
    return f"({'; '.join(limits)})" if limits else ""
