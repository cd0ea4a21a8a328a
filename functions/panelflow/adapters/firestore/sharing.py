"""Share links, devices and sent notifications in Cloud Firestore (or its emulator).

shares/{shareId}                  server-side only: {jobId, ownerUid, createdAt,
                                  expiresAt (timestamp, a TTL field), revoked}
users/{uid}/devices/{deviceId}    its owner reads it: {token, platform, updatedAt}
deviceTokens/{deviceId}           server-side only: {ownerUid}, who holds the token now
notifications/{jobId}/sent/{id}   server-side only: one per device notified for the job
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from panelflow.adapters.firestore.documents import translate
from panelflow.domain.retention import timestamp
from panelflow.domain.sharing import Device, Share

SHARES = "shares"
USERS = "users"
DEVICES = "devices"
DEVICE_TOKENS = "deviceTokens"
NOTIFICATIONS = "notifications"
SENT = "sent"


class FirestoreShareStore:
    def __init__(self, project_id: str, client: firestore.Client | None = None) -> None:
        self._client = client or firestore.Client(project=project_id)

    def create_share(self, share: Share) -> None:
        document = {
            "jobId": share.job_id,
            "ownerUid": share.owner_uid,
            "createdAt": share.created_at,
            "expiresAt": timestamp(share.expires_at),
            "revoked": share.revoked,
        }
        translate(lambda: self._client.collection(SHARES).document(share.share_id).create(document))

    def get_share(self, share_id: str) -> Share | None:
        snapshot = translate(self._client.collection(SHARES).document(share_id).get)
        return _share(share_id, snapshot.to_dict()) if snapshot.exists else None

    def list_shares(self, job_id: str) -> list[Share]:
        query = self._client.collection(SHARES).where(filter=FieldFilter("jobId", "==", job_id))
        shares = [_share(doc.id, doc.to_dict()) for doc in translate(query.get)]
        return sorted(shares, key=lambda share: share.created_at, reverse=True)

    def revoke_share(self, share_id: str) -> bool:
        ref = self._client.collection(SHARES).document(share_id)
        try:
            translate(lambda: ref.update({"revoked": True}))
        except gexc.NotFound:
            return False
        return True

    def delete_shares(self, job_id: str) -> int:
        query = self._client.collection(SHARES).where(filter=FieldFilter("jobId", "==", job_id))
        refs = [doc.reference for doc in translate(query.get)]
        _delete_all(self._client, refs)
        return len(refs)


class FirestoreDeviceStore:
    def __init__(self, project_id: str, client: firestore.Client | None = None) -> None:
        self._client = client or firestore.Client(project=project_id)

    def _device_ref(self, owner_uid: str, device_id: str) -> firestore.DocumentReference:
        ref: firestore.DocumentReference = (
            self._client.collection(USERS)
            .document(owner_uid)
            .collection(DEVICES)
            .document(device_id)
        )
        return ref

    def register_device(self, device: Device) -> None:
        device_id = device.device_id
        holder_ref = self._client.collection(DEVICE_TOKENS).document(device_id)
        holder = translate(holder_ref.get)
        batch = self._client.batch()
        previous = holder.get("ownerUid") if holder.exists else None
        if previous and previous != device.owner_uid:
            # One token, one app install: whoever registered it last receives its messages.
            batch.delete(self._device_ref(previous, device_id))
        batch.set(self._device_ref(device.owner_uid, device_id), device.to_dict())
        batch.set(holder_ref, {"ownerUid": device.owner_uid})
        translate(batch.commit)

    def unregister_device(self, owner_uid: str, device_id: str) -> bool:
        ref = self._device_ref(owner_uid, device_id)
        if not translate(ref.get).exists:
            return False
        batch = self._client.batch()
        batch.delete(ref)
        holder_ref = self._client.collection(DEVICE_TOKENS).document(device_id)
        holder = translate(holder_ref.get)
        if holder.exists and holder.get("ownerUid") == owner_uid:
            batch.delete(holder_ref)
        translate(batch.commit)
        return True

    def list_devices(self, owner_uid: str) -> list[Device]:
        collection = self._client.collection(USERS).document(owner_uid).collection(DEVICES)
        return [
            Device(
                owner_uid=owner_uid,
                token=str(data.get("token", "")),
                platform=str(data.get("platform", "")),
                updated_at=float(data.get("updatedAt") or 0.0),
            )
            for data in (doc.to_dict() or {} for doc in translate(collection.get))
        ]

    def delete_devices(self, owner_uid: str) -> int:
        devices = self.list_devices(owner_uid)
        for device in devices:
            self.unregister_device(owner_uid, device.device_id)
        return len(devices)

    def claim_notification(self, job_id: str, device_id: str) -> bool:
        ref = (
            self._client.collection(NOTIFICATIONS)
            .document(job_id)
            .collection(SENT)
            .document(device_id)
        )
        try:
            # create() carries the precondition "does not exist": one caller wins.
            translate(lambda: ref.create({"sentAt": firestore.SERVER_TIMESTAMP}))
        except gexc.AlreadyExists:
            return False
        return True

    def forget_notifications(self, job_id: str) -> None:
        sent = self._client.collection(NOTIFICATIONS).document(job_id).collection(SENT)
        _delete_all(self._client, list(translate(lambda: list(sent.list_documents()))))


def _share(share_id: str, data: dict[str, Any] | None) -> Share:
    data = data or {}
    expires = data.get("expiresAt")
    return Share(
        share_id=share_id,
        job_id=str(data.get("jobId", "")),
        owner_uid=str(data.get("ownerUid", "")),
        created_at=float(data.get("createdAt") or 0.0),
        expires_at=float(expires.timestamp()) if isinstance(expires, datetime) else 0.0,
        revoked=bool(data.get("revoked", False)),
    )


def _delete_all(client: firestore.Client, refs: Sequence[firestore.DocumentReference]) -> None:
    """Deletes in batches of at most 500 writes (Firestore's limit per commit)."""
    for start in range(0, len(refs), 500):
        batch = client.batch()
        for ref in refs[start : start + 500]:
            batch.delete(ref)
        translate(batch.commit)
