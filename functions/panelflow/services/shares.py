"""Share links: a read-only view of one finished comic for whoever holds the link.

The token is the permission, so it is made of 32 random bytes, shown once (when it is
made) and stored only as its hash. Every way a link can fail (malformed, unknown, revoked,
expired, its comic unfinished or gone) answers the same NotFound, so a guess learns nothing.
"""

from __future__ import annotations

import time
from typing import Any

from panelflow import logs
from panelflow.domain.errors import Conflict, NotFound
from panelflow.domain.models import JobStatus
from panelflow.domain.sharing import (
    SHARE_ID,
    SHARE_TOKEN,
    Share,
    new_share_token,
    share_expires_at,
    token_hash,
)
from panelflow.ports import SharingDependencies
from panelflow.services.jobs import get_job_for

# A comic worth sharing: finished, with at least one panel drawn.
SHAREABLE = (JobStatus.COMPLETED, JobStatus.PARTIAL)
# Panel fields a shared view shows: the comic, never the story, owner or internals.
_PANEL_FIELDS = ("index", "caption", "narration", "dialogue")
_ASSET_FIELDS = ("contentType", "width", "height", "durationMs", "lines")


def create_share(
    services: SharingDependencies, owner_uid: str, job_id: str, ttl_days: int
) -> dict[str, Any]:
    """Makes a link to the caller's finished comic, valid ``ttl_days`` days.

    Returns:
        ``{token, url, expiresAt, id}``: the only time the token is handed out.

    Raises:
        NotFound: no such job for this caller.
        Conflict: the job is not finished with a drawn panel yet.
    """
    job = get_job_for(services, owner_uid, job_id)
    if job.status not in SHAREABLE:
        raise Conflict(f"only a finished comic can be shared; this one is {job.status.value}")
    token, now = new_share_token(), time.time()
    share = Share(
        share_id=token_hash(token),
        job_id=job_id,
        owner_uid=owner_uid,
        created_at=now,
        expires_at=share_expires_at(now, ttl_days),
    )
    services.shares.create_share(share)
    logs.info("share link made", jobId=job_id, days=ttl_days)
    return {
        "token": token,
        "url": f"/s/{token}",
        "expiresAt": share.expires_at,
        "id": share.share_id,
    }


def list_shares(services: SharingDependencies, owner_uid: str, job_id: str) -> list[dict[str, Any]]:
    """The links to the caller's comic (ids, not tokens: tokens are not stored)."""
    get_job_for(services, owner_uid, job_id)
    return [
        share.to_view()
        for share in services.shares.list_shares(job_id)
        if share.owner_uid == owner_uid
    ]


def revoke_share(services: SharingDependencies, owner_uid: str, job_id: str, token: str) -> None:
    """Revokes one link of the caller's comic, named by its token or by its id.

    Raises:
        NotFound: no such job for this caller, or no such link to it.
    """
    get_job_for(services, owner_uid, job_id)
    share_id = _share_id(token)
    share = services.shares.get_share(share_id) if share_id else None
    if share is None or share.job_id != job_id or share.owner_uid != owner_uid:
        raise NotFound("no such share link")
    services.shares.revoke_share(share_id)
    logs.info("share link revoked", jobId=job_id)


def shared_comic(services: SharingDependencies, token: str) -> dict[str, Any]:
    """The comic a link opens, for anyone: title, language, style and the panels' text,
    with freshly signed image and audio links.

    Raises:
        NotFound: the token is malformed, unknown, revoked or expired, or its comic is no
            longer there to show (the same answer for each).
    """
    gone = NotFound("this link is no longer valid")
    if not SHARE_TOKEN.fullmatch(token):
        raise gone
    share = services.shares.get_share(token_hash(token))
    if share is None or not share.open_at(time.time()):
        raise gone
    job = services.store.get_job(share.job_id)
    if job is None or job.owner_uid != share.owner_uid or job.status not in SHAREABLE:
        raise gone
    lifetime = min(
        services.settings.signed_url_seconds, max(int(share.expires_at - time.time()), 1)
    )
    panels = []
    for panel in services.store.list_panels(job.job_id):
        if panel.status.value != "done" or panel.image is None:
            continue
        data = panel.to_dict()
        view: dict[str, Any] = {name: data.get(name) for name in _PANEL_FIELDS}
        for kind in ("image", "audio"):
            asset = data.get(kind)
            view[kind] = _asset_view(services, asset, lifetime) if asset else None
        panels.append(view)
    return {
        "title": job.title,
        "language": job.language,
        "style": job.style,
        "panelCount": len(panels),
        "expiresAt": share.expires_at,
        "panels": panels,
    }


def _asset_view(
    services: SharingDependencies, asset: dict[str, Any], lifetime: float
) -> dict[str, Any]:
    signed = services.blobs.signed_url(asset["path"], lifetime)
    view = {name: asset[name] for name in _ASSET_FIELDS if name in asset}
    return {**view, "url": signed.url, "expiresAt": signed.expires_at}


def _share_id(token_or_id: str) -> str:
    if SHARE_TOKEN.fullmatch(token_or_id):
        return token_hash(token_or_id)
    return token_or_id if SHARE_ID.fullmatch(token_or_id) else ""
