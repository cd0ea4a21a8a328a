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
) -> Any:
    """Reads ``ref``, lets ``decide(snapshot)`` return an update (None: write nothing),
    and commits it, with the writes of ``extra``, in one batch that fails if the
    document changed since it was read; then reads and decides again.

    Transactions would do the same with locks, and the emulator (like Firestore under
    contention) makes concurrent transactions on one document wait for seconds.

    Returns:
        The update's write result, or None when ``decide`` declined.

    Raises:
        Contended: the document changed under every one of ``attempts`` reads.
        TransientError: Firestore is unavailable.
    """
    for _ in range(attempts):
        snapshot = translate(ref.get)
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
