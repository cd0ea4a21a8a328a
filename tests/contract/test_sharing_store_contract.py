"""The share and device stores: the in-memory fakes and the Firestore adapters (on the
emulator) held to the same assertions."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from fakes.sharing import InMemoryDeviceStore, InMemoryShareStore
from panelflow.domain.sharing import Device, Share, token_hash


@pytest.fixture(params=["fake", "firestore"])
def shares(request: pytest.FixtureRequest):
    if request.param == "fake":
        return InMemoryShareStore()
    request.getfixturevalue("emulator_env")
    from panelflow.adapters.firestore.sharing import FirestoreShareStore

    return FirestoreShareStore("demo-panelflow")


@pytest.fixture(params=["fake", "firestore"])
def devices(request: pytest.FixtureRequest):
    if request.param == "fake":
        return InMemoryDeviceStore()
    request.getfixturevalue("emulator_env")
    from panelflow.adapters.firestore.sharing import FirestoreDeviceStore

    return FirestoreDeviceStore("demo-panelflow")


def _share(job_id: str, owner: str, created: float, days: float = 30) -> Share:
    token = uuid.uuid4().hex
    return Share(token_hash(token), job_id, owner, created, created + days * 86400)


def test_shares_are_stored_listed_revoked_and_deleted_by_job(shares) -> None:
    job_id, now = uuid.uuid4().hex, time.time()
    older, newer = _share(job_id, "u1", now - 10), _share(job_id, "u1", now)
    elsewhere = _share(uuid.uuid4().hex, "u1", now)
    for share in (older, newer, elsewhere):
        shares.create_share(share)
    got = shares.get_share(newer.share_id)
    assert got is not None and got.job_id == job_id and got.owner_uid == "u1"
    assert abs(got.expires_at - newer.expires_at) < 0.01 and not got.revoked
    assert [s.share_id for s in shares.list_shares(job_id)] == [newer.share_id, older.share_id]
    assert shares.revoke_share(older.share_id) is True
    assert shares.get_share(older.share_id).revoked
    assert shares.revoke_share(token_hash("no such token")) is False
    assert shares.get_share(token_hash("no such token")) is None
    assert shares.delete_shares(job_id) == 2
    assert shares.list_shares(job_id) == [] and shares.get_share(newer.share_id) is None
    assert shares.get_share(elsewhere.share_id) is not None


def test_a_device_token_belongs_to_one_user(devices) -> None:
    first, second = f"u-{uuid.uuid4().hex[:6]}", f"u-{uuid.uuid4().hex[:6]}"
    token = f"fcm-{uuid.uuid4().hex}"
    devices.register_device(Device(first, token, "ios", 1.0))
    devices.register_device(Device(first, f"{token}-b", "web", 1.0))
    assert sorted(d.platform for d in devices.list_devices(first)) == ["ios", "web"]
    devices.register_device(Device(second, token, "android", 2.0))
    assert [d.token for d in devices.list_devices(first)] == [f"{token}-b"]
    (moved,) = devices.list_devices(second)
    assert (moved.token, moved.platform, moved.updated_at) == (token, "android", 2.0)
    assert devices.unregister_device(first, token_hash(token)) is False
    assert devices.unregister_device(second, token_hash(token)) is True
    assert devices.list_devices(second) == []
    assert devices.delete_devices(first) == 1 and devices.list_devices(first) == []


def test_a_notification_is_claimed_once_per_job_and_device(devices) -> None:
    job_id = uuid.uuid4().hex
    wins: list[bool] = []
    threads = [
        threading.Thread(target=lambda: wins.append(devices.claim_notification(job_id, "d1")))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 5 + [True]
    assert devices.claim_notification(job_id, "d2") is True
    devices.forget_notifications(job_id)
    assert devices.claim_notification(job_id, "d1") is True
