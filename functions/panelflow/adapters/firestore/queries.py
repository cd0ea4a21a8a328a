"""Read-only queries of FirestoreJobStore: lists, the sweeper's scans, finished counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from panelflow.adapters.firestore.documents import JOBS, LEASES, PANELS, job_ref, translate
from panelflow.domain.models import Job, JobStatus, Panel, PanelStatus


def panel_documents(client: firestore.Client, job_id: str) -> list[dict[str, Any]]:
    """The job's panel documents (what clients read), ordered by index."""
    query = job_ref(client, job_id).collection(PANELS).order_by("index")
    return [doc.to_dict() or {} for doc in translate(query.get)]


def list_jobs(client: firestore.Client, owner_uid: str, limit: int) -> list[Job]:
    query = (
        client.collection(JOBS)
        .where(filter=FieldFilter("ownerUid", "==", owner_uid))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .limit(limit)
    )
    return [Job.from_dict(doc.to_dict()) for doc in translate(query.get)]


def expired_leases(client: firestore.Client, now: float, limit: int) -> list[Panel]:
    """The query form of ``panelflow.domain.leases.lease_expired``, over every job.

    A lease document has an expiry only while its panel is rendering (finishing, failing,
    releasing or re-queueing the panel clears it in the same commit), so the expiry alone
    finds them; the panels come back with what the sweeper uses (job, index, attempts).
    """
    query = client.collection(LEASES).where(filter=FieldFilter("expiresAt", "<", now)).limit(limit)
    return [
        Panel(
            job_id=data["jobId"],
            index=int(data["index"]),
            status=PanelStatus.RENDERING,
            attempts=int(data.get("attempts") or 0),
            lease_owner=data.get("owner"),
            lease_expires_at=data.get("expiresAt"),
        )
        for data in (doc.to_dict() or {} for doc in translate(query.get))
    ]


def stale_jobs(
    client: firestore.Client, statuses: Sequence[JobStatus], updated_before: float, limit: int
) -> list[Job]:
    query = (
        client.collection(JOBS)
        .where(filter=FieldFilter("status", "in", [status.value for status in statuses]))
        .where(filter=FieldFilter("updatedAt", "<", updated_before))
        .limit(limit)
    )
    return [Job.from_dict(doc.to_dict() or {}) for doc in translate(query.get)]


def finished_panels(
    client: firestore.Client, job_id: str, panel_count: int
) -> tuple[int, int, float | None] | None:
    """Done and failed panels and when the first was done, from one query of their status
    fields (a job has at most a few dozen panels): None until all ``panel_count`` are
    finished. One round trip, where counting finished and failed panels and finding the
    first done took three on the last panel's path."""
    query = job_ref(client, job_id).collection(PANELS).select(["status", "finishedAt"])
    done, failed, first_done = 0, 0, None
    for doc in translate(query.get):
        data = doc.to_dict() or {}
        if data.get("status") == PanelStatus.DONE.value:
            done += 1
            at = data.get("finishedAt")
            if at is not None and (first_done is None or at < first_done):
                first_done = float(at)
        elif data.get("status") == PanelStatus.FAILED.value:
            failed += 1
    if done + failed < panel_count:
        return None
    return done, failed, first_done


def first_done_at(client: firestore.Client, job_id: str) -> float | None:
    """When the job's first panel was done, for its ``firstPanelMs`` timing."""
    query = (
        job_ref(client, job_id)
        .collection(PANELS)
        .where(filter=FieldFilter("status", "==", PanelStatus.DONE.value))
        .order_by("finishedAt")
        .limit(1)
    )
    docs = translate(query.get)
    return float(docs[0].get("finishedAt")) if docs else None
