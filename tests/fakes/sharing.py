"""In-memory fakes of the share, device and push ports; tests/contract holds the stores to
the Firestore adapters."""

from __future__ import annotations

import threading
from collections import deque

from panelflow.domain.sharing import Device, Share
from panelflow.ports import PushMessage


class InMemoryShareStore:
    def __init__(self) -> None:
        self.shares: dict[str, Share] = {}

    def create_share(self, share: Share) -> None:
        self.shares[share.share_id] = share

    def get_share(self, share_id: str) -> Share | None:
        return self.shares.get(share_id)

    def list_shares(self, job_id: str) -> list[Share]:
        found = [share for share in self.shares.values() if share.job_id == job_id]
        return sorted(found, key=lambda share: share.created_at, reverse=True)

    def revoke_share(self, share_id: str) -> bool:
        share = self.shares.get(share_id)
        if share is None:
            return False
        self.shares[share_id] = Share(**{**share.__dict__, "revoked": True})
        return True

    def delete_shares(self, job_id: str) -> int:
        gone = [key for key, share in self.shares.items() if share.job_id == job_id]
        for key in gone:
            del self.shares[key]
        return len(gone)


class InMemoryDeviceStore:
    def __init__(self) -> None:
        # owner -> device id -> device
        self.devices: dict[str, dict[str, Device]] = {}
        self.sent: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def register_device(self, device: Device) -> None:
        with self._lock:
            for owned in self.devices.values():
                owned.pop(device.device_id, None)
            self.devices.setdefault(device.owner_uid, {})[device.device_id] = device

    def unregister_device(self, owner_uid: str, device_id: str) -> bool:
        with self._lock:
            return self.devices.get(owner_uid, {}).pop(device_id, None) is not None

    def list_devices(self, owner_uid: str) -> list[Device]:
        with self._lock:
            return list(self.devices.get(owner_uid, {}).values())

    def delete_devices(self, owner_uid: str) -> int:
        with self._lock:
            return len(self.devices.pop(owner_uid, {}))

    def claim_notification(self, job_id: str, device_id: str) -> bool:
        with self._lock:
            sent = self.sent.setdefault(job_id, set())
            if device_id in sent:
                return False
            sent.add(device_id)
            return True

    def forget_notifications(self, job_id: str) -> None:
        with self._lock:
            self.sent.pop(job_id, None)


class RecordingPushSender:
    """Records what was sent; ``fail`` queues errors raised by the next sends, in order."""

    def __init__(self) -> None:
        self.sent: list[PushMessage] = []
        self.failures: deque[Exception] = deque()

    def fail(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    def send(self, message: PushMessage) -> str:
        if self.failures:
            raise self.failures.popleft()
        self.sent.append(message)
        return f"projects/fake/messages/{len(self.sent)}"
