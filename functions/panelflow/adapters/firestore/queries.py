"""Read-only queries of FirestoreJobStore: lists, the sweeper's scans, finished counts."""

from __future__ import annotations

from collections.abc import Sequence

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from panelflow.adapters.firestore.documents import JOBS, PANELS, job_ref, translate
from panelflow.domain.models import Job, JobStatus, Panel, PanelStatus


def list_panels(client: firestore.Client, job_id: str) -> list[Panel]:
    query = job_ref(client, job_id).collection(PANELS).order_by("index")
    return [Panel.from_dict(doc.to_dict()) for doc in translate(query.get)]


def list_jobs(client: firestore.Client, owner_uid: str, limit: int) -> list[Job]:
    query = (
        client.collection(JOBS)
        .where(filter=FieldFilter("ownerUid", "==", owner_uid))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .limit(limit)
    )
    return [Job.from_dict(doc.to_dict()) for doc in translate(query.get)]


def expired_leases(client: firestore.Client, now: float, limit: int) -> list[Panel]:
    """The query form of ``panelflow.domain.leases.lease_expired``, over every job."""
    query = (
        client.collection_group(PANELS)
        .where(filter=FieldFilter("status", "==", PanelStatus.RENDERING.value))
        .where(filter=FieldFilter("lease.expiresAt", "<", now))
        .limit(limit)
    )
    return [Panel.from_dict(doc.to_dict() or {}) for doc in translate(query.get)]


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


def finished_counts(
    client: firestore.Client, job_id: str, panel_count: int
) -> tuple[int, int] | None:
    # One aggregation per call until the last panel; the failed count only then.
    panels = job_ref(client, job_id).collection(PANELS)
    finished_query = panels.where(
        filter=FieldFilter("status", "in", [PanelStatus.DONE.value, PanelStatus.FAILED.value])
    ).count()
    finished = int(translate(finished_query.get)[0][0].value)
    if finished < panel_count:
        return None
    failed_query = panels.where(
        filter=FieldFilter("status", "==", PanelStatus.FAILED.value)
    ).count()
    failed = int(translate(failed_query.get)[0][0].value)
    return finished - failed, failed


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
