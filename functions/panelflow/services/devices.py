"""Devices: app installs that want a notification when their user's comic is finished."""

from __future__ import annotations

import time

from panelflow import logs
from panelflow.domain.errors import NotFound
from panelflow.domain.sharing import Device, token_hash
from panelflow.ports import SharingDependencies


def register_device(
    services: SharingDependencies, owner_uid: str, token: str, platform: str
) -> bool:
    """Stores the caller's device (validated by the entry point); a token another user
    registered moves to the caller.

    Returns:
        True when the caller had not registered this token before.
    """
    device = Device(owner_uid=owner_uid, token=token, platform=platform, updated_at=time.time())
    known = any(d.device_id == device.device_id for d in services.devices.list_devices(owner_uid))
    services.devices.register_device(device)
    logs.info("device registered", platform=platform, new=not known)
    return not known


def unregister_device(services: SharingDependencies, owner_uid: str, token: str) -> None:
    """Removes the caller's device: no more notifications to it.

    Raises:
        NotFound: the caller has no device with this token (someone else's included).
    """
    if not services.devices.unregister_device(owner_uid, token_hash(token)):
        raise NotFound("no such device")
    logs.info("device unregistered")
