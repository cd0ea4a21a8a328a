"""The composition root: wires ports to adapters from Settings, once per warm instance.

Each adapter is built on first use, so the HTTP function never loads the image or voice
stack and a cold start pays only for what the handler touches.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from typing import TYPE_CHECKING, Any

from panelflow.domain import assets
from panelflow.ports import (
    Authenticator,
    BlobStore,
    Dependencies,
    DeviceStore,
    ImageGenerator,
    JobStore,
    PanelQueue,
    PushSender,
    ShareStore,
    SpeechSynthesizer,
    StoryPlanner,
)
from panelflow.settings import Settings


class Services:
    """The ports the use cases need (``panelflow.ports.Dependencies``), built from Settings.

    A port passed in is used as given (tests pass fakes, typed against their Protocols);
    any other is built from the settings on first use.
    """

    def __init__(  # noqa: PLR0913 - one keyword-only argument per port, as the Protocols list them
        self,
        settings: Settings,
        *,
        store: JobStore | None = None,
        queue: PanelQueue | None = None,
        blobs: BlobStore | None = None,
        planner: StoryPlanner | None = None,
        images: ImageGenerator | None = None,
        voice: SpeechSynthesizer | None = None,
        authenticator: Authenticator | None = None,
        shares: ShareStore | None = None,
        devices: DeviceStore | None = None,
        push: PushSender | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        # Identifies this instance as a lease owner; unique per process.
        self.worker_id: str = (
            worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        given = {
            "store": store,
            "queue": queue,
            "blobs": blobs,
            "planner": planner,
            "images": images,
            "voice": voice,
            "authenticator": authenticator,
            "shares": shares,
            "devices": devices,
            "push": push,
        }
        # Pre-fills the cached properties below, so a given port is never built.
        self.__dict__.update({name: port for name, port in given.items() if port is not None})

    @property
    def image_engine(self) -> str:
        """Goes into asset names: a provider change never reuses another provider's image."""
        return assets.image_engine(self.settings.images, self.settings.image_model)

    @property
    def voice_engine(self) -> str:
        return assets.voice_engine(self.settings.voice)

    @functools.cached_property
    def store(self) -> JobStore:
        from panelflow.adapters.firestore_store import FirestoreJobStore

        return FirestoreJobStore(
            self.settings.project_id, story_retention_days=self.settings.story_retention_days
        )

    @functools.cached_property
    def queue(self) -> PanelQueue:
        from panelflow.adapters.pubsub_queue import PubSubPanelQueue

        s = self.settings
        return PubSubPanelQueue(
            s.project_id,
            s.plan_topic,
            s.panels_topic,
            notify_topic=s.notify_topic,
            exports_topic=s.exports_topic,
        )

    @functools.cached_property
    def blobs(self) -> BlobStore:
        from panelflow.adapters.gcs_blobs import GcsBlobStore

        s = self.settings
        return GcsBlobStore(s.project_id, s.bucket, signing_key_file=s.signing_key_file)

    @functools.cached_property
    def genai_client(self) -> Any:
        """One google-genai client shared by the planner and the image generator.

        Held here for the instance's lifetime: an unreferenced client is closed by its
        finalizer, even in the middle of a call.
        """
        from panelflow.adapters.gemini import make_client

        return make_client(self.settings)

    @functools.cached_property
    def planner(self) -> StoryPlanner:
        provider = self.settings.planner
        if provider == "google":
            from panelflow.adapters.gemini import GeminiStoryPlanner, policy_from

            return GeminiStoryPlanner(
                self.genai_client,
                model=self.settings.planner_model,
                max_output_tokens=self.settings.planner_max_output_tokens,
                retry=policy_from(self.settings, images=False),
            )
        if provider == "simulated":
            from panelflow.adapters.simulated import SimulatedStoryPlanner

            return SimulatedStoryPlanner()
        from panelflow.adapters.offline.planner import RuleBasedStoryPlanner

        return RuleBasedStoryPlanner()

    @functools.cached_property
    def images(self) -> ImageGenerator:
        provider = self.settings.images
        if provider == "google":
            from panelflow.adapters.gemini import GeminiImageGenerator, policy_from

            return GeminiImageGenerator(
                self.genai_client,
                model=self.settings.image_model,
                retry=policy_from(self.settings, images=True),
            )
        if provider == "simulated":
            from panelflow.adapters.simulated import SimulatedImageGenerator

            return SimulatedImageGenerator()
        from panelflow.adapters.offline.renderer import PillowImageGenerator

        return PillowImageGenerator()

    @functools.cached_property
    def voice(self) -> SpeechSynthesizer:
        provider = self.settings.voice
        if provider == "google":
            from panelflow.adapters import cloud_tts

            s = self.settings
            return cloud_tts.CloudTextToSpeechSynthesizer(
                cloud_tts.make_client(s),
                voices=s.tts_voices,
                tier=s.tts_tier,
                timeout=s.tts_timeout_s,
                retry=cloud_tts.make_retry(
                    initial=s.retry_initial_s, maximum=s.retry_max_s, budget=s.tts_retry_budget_s
                ),
            )
        if provider == "simulated":
            from panelflow.adapters.simulated import SimulatedSpeechSynthesizer

            return SimulatedSpeechSynthesizer()
        from panelflow.adapters.offline.voice import FliteSpeechSynthesizer

        return FliteSpeechSynthesizer()

    @functools.cached_property
    def shares(self) -> ShareStore:
        from panelflow.adapters.firestore.sharing import FirestoreShareStore

        return FirestoreShareStore(self.settings.project_id)

    @functools.cached_property
    def devices(self) -> DeviceStore:
        from panelflow.adapters.firestore.sharing import FirestoreDeviceStore

        return FirestoreDeviceStore(self.settings.project_id)

    @functools.cached_property
    def push(self) -> PushSender:
        from panelflow.adapters.fcm import FcmPushSender

        s = self.settings
        return FcmPushSender(
            s.project_id, endpoint=s.fcm_endpoint, retry_budget_s=s.fcm_retry_budget_s
        )

    @functools.cached_property
    def authenticator(self) -> Authenticator:
        from panelflow.adapters.auth import FirebaseAuthenticator

        return FirebaseAuthenticator(
            self.settings.project_id,
            check_revoked=self.settings.check_revoked,
            account_ttl_s=self.settings.auth_account_ttl_s,
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


if TYPE_CHECKING:
    # Services is what every entry point hands the use cases: held to each of their ports.
    _services_satisfy_the_ports: type[Dependencies] = Services
