"""The composition root: wires ports to adapters from Settings, once per warm instance.

Each adapter is built on first use, so the HTTP function never loads the image or voice
stack and a cold start pays only for what the handler touches.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from typing import Any

from panelflow.domain.errors import ConfigurationError
from panelflow.ports import (
    Authenticator,
    BlobStore,
    ImageGenerator,
    JobStore,
    PanelQueue,
    SpeechSynthesizer,
    StoryPlanner,
)
from panelflow.settings import Settings

_PORTS = ("store", "queue", "blobs", "planner", "images", "voice", "authenticator")


class Services:
    """The ports a service function needs; tests pass fakes as keyword arguments."""

    # Engine names go into asset hashes, so a provider change never reuses old assets.
    image_engine = "offline-pillow-1"
    voice_engine = "offline-flite-1"

    def __init__(self, settings: Settings, **overrides: Any) -> None:
        unknown = set(overrides) - set(_PORTS) - {"worker_id"}
        if unknown:
            raise TypeError(f"unknown services: {', '.join(sorted(unknown))}")
        self.settings = settings
        # Identifies this instance as a lease owner; unique per process.
        self.worker_id: str = overrides.pop("worker_id", None) or (
            f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self.__dict__.update(overrides)

    @functools.cached_property
    def store(self) -> JobStore:
        from panelflow.adapters.firestore_store import FirestoreJobStore

        return FirestoreJobStore(self.settings.project_id)

    @functools.cached_property
    def queue(self) -> PanelQueue:
        from panelflow.adapters.pubsub_queue import PubSubPanelQueue

        s = self.settings
        return PubSubPanelQueue(s.project_id, s.plan_topic, s.panels_topic)

    @functools.cached_property
    def blobs(self) -> BlobStore:
        from panelflow.adapters.gcs_blobs import GcsBlobStore

        s = self.settings
        return GcsBlobStore(s.project_id, s.bucket, public_base_url=s.asset_base_url)

    @functools.cached_property
    def planner(self) -> StoryPlanner:
        _offline_only("PANELFLOW_PLANNER", self.settings.planner)
        from panelflow.adapters.offline.planner import RuleBasedStoryPlanner

        return RuleBasedStoryPlanner()

    @functools.cached_property
    def images(self) -> ImageGenerator:
        _offline_only("PANELFLOW_IMAGES", self.settings.images)
        from panelflow.adapters.offline.renderer import PillowImageGenerator

        return PillowImageGenerator()

    @functools.cached_property
    def voice(self) -> SpeechSynthesizer:
        _offline_only("PANELFLOW_VOICE", self.settings.voice)
        from panelflow.adapters.offline.voice import FliteSpeechSynthesizer

        return FliteSpeechSynthesizer()

    @functools.cached_property
    def authenticator(self) -> Authenticator:
        if self.settings.auth_mode != "dev":
            raise ConfigurationError(
                "PANELFLOW_AUTH=firebase is not available in this build", field="PANELFLOW_AUTH"
            )
        from panelflow.adapters.auth import DevTokenAuthenticator

        return DevTokenAuthenticator()


def _offline_only(variable: str, value: str) -> None:
    if value != "offline":
        raise ConfigurationError(
            f"{variable}={value}: only the offline providers are available in this build",
            field=variable,
        )


_active: Services | None = None


def get_services() -> Services:
    """The warm instance's services, built on first use (never at import time)."""
    global _active
    if _active is None:
        _active = Services(Settings.from_env())
    return _active


def use(services: Services | None) -> None:
    """Replaces the instance's services (tests drive entry points through fakes this way)."""
    global _active
    _active = services
