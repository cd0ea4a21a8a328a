"""Services wired entirely to fakes: the composition root the unit tier drives."""

from __future__ import annotations

from fakes.auth import FakeAuthenticator
from fakes.providers import CountingImageGenerator, CountingPlanner, CountingVoice
from fakes.sharing import InMemoryDeviceStore, InMemoryShareStore, RecordingPushSender
from fakes.stores import InMemoryBlobStore, InMemoryJobStore, RecordingQueue
from panelflow.bootstrap import Services
from panelflow.settings import Settings


def fake_services(
    settings: Settings, worker_id: str = "worker-1", *, fake_providers: bool = True
) -> Services:
    """Fresh in-memory fakes for every port, a fake authenticator among them.

    With ``fake_providers=False`` the planner, images and voice are the ones the settings
    choose (the Google adapters against their local wire fakes, say): only the
    infrastructure is faked. Each fake goes in through its own typed keyword, so mypy
    checks it against its port.
    """
    return Services(
        settings,
        store=InMemoryJobStore(),
        queue=RecordingQueue(),
        blobs=InMemoryBlobStore(),
        planner=CountingPlanner() if fake_providers else None,
        images=CountingImageGenerator() if fake_providers else None,
        voice=CountingVoice() if fake_providers else None,
        authenticator=FakeAuthenticator(),
        shares=InMemoryShareStore(),
        devices=InMemoryDeviceStore(),
        push=RecordingPushSender(),
        worker_id=worker_id,
    )
