"""Local IAM: each function reaches Pub/Sub and Storage with what functions/pipeline.yaml
grants it, and is refused the rest the way Google refuses a service account without a role.

The adapters are the production ones (PubSubPanelQueue, GcsBlobStore) talking to the real
Pub/Sub emulator through the IAM gateway and to the Storage emulator's principal ports.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from google.api_core import exceptions as google_exceptions

from panelflow.adapters.gcs_blobs import GcsBlobStore
from panelflow.adapters.pubsub_queue import PubSubPanelQueue
from panelflow_cli import iam_gateway, storage_emulator
from panelflow_cli import pipeline as declared
from panelflow_cli.stack import free_port

pytestmark = pytest.mark.emulators

PIPELINE = declared.load()
PROJECT = "demo-panelflow"


@pytest.fixture(scope="module")
def gateway(emulators: dict[str, str]) -> Iterator[dict[str, str]]:
    """The IAM gateway for every declared function; yields each one's Pub/Sub address."""
    ports = {key: free_port() for key in PIPELINE.functions}
    config = {
        "upstream": emulators["PUBSUB_EMULATOR_HOST"],
        "project": PROJECT,
        "principals": [
            {
                "name": key,
                "port": ports[key],
                "topics": [PIPELINE.topic_name(topic) for topic in function.publishes],
            }
            for key, function in PIPELINE.functions.items()
        ]
        # A principal granted nothing, as a function missing its grant would be.
        + [{"name": "ungranted", "port": (ungranted := free_port()), "topics": []}],
    }
    servers = iam_gateway.serve(config)
    try:
        yield {
            **{key: f"127.0.0.1:{port}" for key, port in ports.items()},
            "ungranted": f"127.0.0.1:{ungranted}",
        }
    finally:
        for server in servers:
            server.stop(grace=None)


def _queue(address: str, monkeypatch: pytest.MonkeyPatch) -> PubSubPanelQueue:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", address)
    return PubSubPanelQueue(PROJECT, PIPELINE.topic_name("plan"), PIPELINE.topic_name("panels"))


def _publishes(queue: PubSubPanelQueue, topic: str) -> None:
    job_id = f"iam-{uuid.uuid4().hex[:8]}"
    if topic == "plan":
        queue.publish_plan(job_id)
    else:
        queue.publish_panels(job_id, [0])


@pytest.mark.parametrize("key", sorted(PIPELINE.functions))
@pytest.mark.parametrize("topic", ["plan", "panels"])
def test_a_function_publishes_exactly_to_its_declared_topics(
    gateway: dict[str, str],
    emulator_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    topic: str,
) -> None:
    queue = _queue(gateway[key], monkeypatch)
    if topic in PIPELINE.functions[key].publishes:
        _publishes(queue, topic)
        return
    with pytest.raises(Exception) as refused:
        _publishes(queue, topic)
    cause = refused.value.__cause__ or refused.value
    assert isinstance(cause, google_exceptions.PermissionDenied), repr(cause)
    assert "not authorized" in str(cause)


def test_retry_and_regenerate_may_publish_panel_messages_from_the_api() -> None:
    """The grant production lacked: the API's :retry and :regenerate publish panels."""
    assert {"plan", "panels"} <= set(PIPELINE.functions["api"].publishes)


def test_a_function_without_the_grant_is_refused_like_pubsub_refuses_it(
    gateway: dict[str, str], emulator_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = _queue(gateway["ungranted"], monkeypatch)
    with pytest.raises(Exception) as refused:
        queue.publish_panels("job-x", [0, 1])
    assert isinstance(refused.value.__cause__, google_exceptions.PermissionDenied)


# ---- Storage ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def storage() -> Iterator[dict[str, str]]:
    """A Storage emulator with one port per declared function; yields each one's address."""
    open_port = free_port()
    ports = {key: free_port() for key in PIPELINE.functions}
    principals = [(key, ports[key], PIPELINE.functions[key].storage) for key in ports]
    thread = threading.Thread(
        target=storage_emulator.serve,
        args=("127.0.0.1", open_port, "iam-bucket", "", principals),
        daemon=True,
    )
    thread.start()
    import time

    import requests

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{open_port}/storage/v1/b", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.05)
    yield {"open": f"http://127.0.0.1:{open_port}"} | {
        key: f"http://127.0.0.1:{port}" for key, port in ports.items()
    }


def _blobs(address: str, monkeypatch: pytest.MonkeyPatch) -> GcsBlobStore:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", address)
    return GcsBlobStore(PROJECT, "iam-bucket")


@pytest.mark.parametrize("key", sorted(PIPELINE.functions))
def test_a_function_reads_and_writes_the_bucket_as_declared(
    storage: dict[str, str], monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    path = f"iam/{key}-{uuid.uuid4().hex[:6]}.txt"
    _blobs(storage["open"], monkeypatch).put(path, b"seed", "text/plain")
    blobs = _blobs(storage[key], monkeypatch)
    access = PIPELINE.functions[key].storage
    if access == "none":
        with pytest.raises(Exception) as refused:
            blobs.get(path)
        assert "storage.objects.get" in str(refused.value.__cause__ or refused.value)
    else:
        assert blobs.get(path) == b"seed"
    if access == "read-write":
        blobs.put(path + ".new", b"written", "text/plain")
        assert _blobs(storage["open"], monkeypatch).get(path + ".new") == b"written"
    else:
        with pytest.raises(Exception) as refused:
            blobs.put(path + ".new", b"written", "text/plain")
        assert "storage.objects.create" in str(refused.value.__cause__ or refused.value)
