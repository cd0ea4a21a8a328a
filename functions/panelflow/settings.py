"""Settings: one frozen dataclass read once from the environment and validated at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from panelflow.domain.errors import ConfigurationError

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
    # Public base for asset links; empty means the store's own URL.
    asset_base_url: str = ""
    auth_mode: str = "dev"  # dev (unsigned emulator-format tokens) | firebase
    emulator_hosts: Mapping[str, str] = field(default_factory=dict)

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
        auth_mode = env.get("PANELFLOW_AUTH", "firebase" if environment == "production" else "dev")
        if auth_mode not in ("dev", "firebase"):
            raise ConfigurationError(
                f"PANELFLOW_AUTH must be 'dev' or 'firebase', not {auth_mode!r}",
                field="PANELFLOW_AUTH",
            )
        if environment == "production":
            # An emulator host makes the SDKs trust forged tokens and unauthenticated writes.
            if emulators:
                names = ", ".join(sorted(emulators))
                raise ConfigurationError(
                    f"production settings refuse emulator variables: {names}", field=names
                )
            if auth_mode != "firebase":
                raise ConfigurationError(
                    "PANELFLOW_AUTH=dev is not allowed in production", field="PANELFLOW_AUTH"
                )
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
            asset_base_url=env.get("PANELFLOW_ASSET_BASE_URL", ""),
            auth_mode=auth_mode,
            emulator_hosts=emulators,
        )


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}", field=name) from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}", field=name)
    return value
