"""Unit tier: fakes of the ports only, and no network."""

from __future__ import annotations

import socket

import pytest

from fakes.services import fake_services
from panelflow import bootstrap
from panelflow.bootstrap import Services
from panelflow.settings import Settings


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that opens a network connection is a bug in the test."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unit tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"GOOGLE_CLOUD_PROJECT": "demo-unit"})


@pytest.fixture
def services(settings: Settings) -> Services:
    built = fake_services(settings)
    bootstrap.use(built)
    yield built
    bootstrap.use(None)
