"""Where jobs live in Firestore, how errors are translated, and compare-and-set writes."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from panelflow.adapters.google_errors import TRANSIENT_API_ERRORS
from panelflow.domain.errors import TransientError

JOBS = "jobs"
PANELS = "panels"
# Lease and worker fields of each panel (owner, expiry, attempts), one document per panel,
# kept out of the panel documents that clients read; the rules deny clients this collection.
LEASES = "panelLeases"
# Fields of a panel that only workers use: stored in its lease document, never in the panel's.
LEASE_FIELDS = ("lease", "attempts")
INPUTS = "jobInputs"
IDEMPOTENCY = "idempotencyKeys"
# One per user: jobs running and panels ordered today (panelflow.domain.quotas).
USAGE = "usage"
# Errors that say "try again", not "you are wrong": the one table of google_errors.
TRANSIENT = TRANSIENT_API_ERRORS


def panel_id(index: int) -> str:
    """Zero-padded so document ids sort like indexes."""
    return f"{index:03d}"


def job_ref(client: firestore.Client, job_id: str) -> firestore.DocumentReference:
    return client.collection(JOBS).document(job_id)


def panel_ref(client: firestore.Client, job_id: str, index: int) -> firestore.DocumentReference:
    panel: firestore.DocumentReference = (
        job_ref(client, job_id).collection(PANELS).document(panel_id(index))
    )
    return panel


def lease_ref(client: firestore.Client, job_id: str, index: int) -> firestore.DocumentReference:
    """``panelLeases/{jobId}-{index}``: top-level, so the sweeper's expiry query needs only
    Firestore's automatic single-field index."""
    lease: firestore.DocumentReference = client.collection(LEASES).document(
        f"{job_id}-{panel_id(index)}"
    )
    return lease


def client_fields(panel: dict[str, Any]) -> dict[str, Any]:
    """A panel's dictionary without its worker-only fields: what its document holds."""
    return {key: value for key, value in panel.items() if key not in LEASE_FIELDS}


def with_lease(panel: dict[str, Any], lease: dict[str, Any] | None) -> dict[str, Any]:
    """A panel document joined with its lease document (None: never claimed)."""
    lease = lease or {}
    owner = lease.get("owner")
    return panel | {
        "attempts": int(lease.get("attempts") or 0),
        "lease": {"owner": owner, "expiresAt": lease.get("expiresAt")} if owner else None,
    }


def translate(call: Callable[[], Any]) -> Any:
    """Runs one Firestore call; an outage becomes a TransientError (retry later)."""
    try:
        return call()
    except TRANSIENT as error:
        raise TransientError("the job store is unavailable, try again") from error


class Contended(Exception):
    """A compare-and-set lost to concurrent writers on every attempt."""


def compare_and_set(
    client: firestore.Client,
    ref: firestore.DocumentReference,
    decide: Callable[[Any], dict[str, Any] | None],
    extra: Callable[[firestore.WriteBatch], None] | None = None,
    attempts: int = 8,
    seen: Any = None,
) -> Any:
    """Reads ``ref``, lets ``decide(snapshot)`` return an update (None: write nothing),
    and commits it, with the writes of ``extra``, in one batch that fails if the
    document changed since it was read; then reads and decides again.

    ``seen``: a snapshot of ``ref`` read earlier, used instead of the first read. The
    precondition makes it as safe as a fresh one: if the document changed since, the commit
    fails and the next attempt reads. A decline on it is not trusted (it may be stale): the
    document is read and decided again.

    Transactions would do the same with locks, and the emulator (like Firestore under
    contention) makes concurrent transactions on one document wait for seconds.

    Returns:
        The update's write result, or None when ``decide`` declined.

    Raises:
        Contended: the document changed under every one of ``attempts`` reads.
        TransientError: Firestore is unavailable.
    """
    for _ in range(attempts):
        earlier, seen = seen, None
        snapshot = earlier if earlier is not None else translate(ref.get)
        update = decide(snapshot)
        if update is None and earlier is not None:
            snapshot = translate(ref.get)  # declined on an earlier read: decide on a fresh one
            update = decide(snapshot)
        if update is None:
            return None
        batch = client.batch()
        if extra is not None:
            extra(batch)
        option = client.write_option(last_update_time=snapshot.update_time)
        batch.update(ref, update, option=option)
        try:
            return batch.commit()[-1]
        except (gexc.FailedPrecondition, gexc.AlreadyExists):
            # This document, or one ``extra`` guards or creates, changed meanwhile.
            time.sleep(random.uniform(0.002, 0.02))
            continue
        except TRANSIENT as error:
            raise TransientError("the job store is unavailable, try again") from error
    raise Contended
