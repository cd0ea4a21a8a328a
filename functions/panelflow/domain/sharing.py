"""Share links and registered devices: their tokens, their limits and their documents.

A share token is the permission itself, so only its hash is stored: whoever can read the
database still cannot open a shared comic. A device token is FCM's registration token; it
is stored as given (the notifier sends to it) under a document id that is its hash, so a
token of any length or alphabet makes a valid id and one token is one document.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from panelflow.domain.quotas import DAY_SECONDS

# 32 random bytes, url-safe base64 without padding: 43 characters.
SHARE_TOKEN_BYTES = 32
SHARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# A share's id in the owner's list: the token's hash (64 hex digits).
SHARE_ID = re.compile(r"[0-9a-f]{64}")
DEFAULT_SHARE_DAYS = 30
MIN_SHARE_DAYS, MAX_SHARE_DAYS = 1, 365
# FCM registration tokens are a few hundred bytes; anything longer is not one.
MAX_DEVICE_TOKEN_BYTES = 4096
PLATFORMS = ("ios", "android", "web")


def new_share_token() -> str:
    return secrets.token_urlsafe(SHARE_TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The id a token is stored under (shares and devices alike)."""
    return hashlib.sha256(token.encode()).hexdigest()


def share_expires_at(now: float, ttl_days: int) -> float:
    return now + ttl_days * DAY_SECONDS


@dataclass(frozen=True)
class Share:
    """A read-only link to one finished comic; ``share_id`` is its token's hash."""

    share_id: str
    job_id: str
    owner_uid: str
    created_at: float
    expires_at: float
    revoked: bool = False

    def open_at(self, now: float) -> bool:
        """Whether the link still opens the comic at ``now``."""
        return not self.revoked and now < self.expires_at

    def to_view(self) -> dict[str, Any]:
        """What the owner's list shows (the token itself is never stored, so never shown)."""
        return {
            "id": self.share_id,
            "jobId": self.job_id,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
            "revoked": self.revoked,
        }


@dataclass(frozen=True)
class Device:
    """One app install that asked for notifications: FCM's registration token for it."""

    owner_uid: str
    token: str
    platform: str
    updated_at: float

    @property
    def device_id(self) -> str:
        return token_hash(self.token)

    def to_dict(self) -> dict[str, Any]:
        """The document at ``users/{uid}/devices/{deviceId}`` (readable by its owner)."""
        return {
            "token": self.token,
            "platform": self.platform,
            "updatedAt": self.updated_at,
        }
