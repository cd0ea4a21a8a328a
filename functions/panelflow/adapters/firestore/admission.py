"""Admitting a new job: the job, its story, its idempotency key and the owner's usage, all
in one batch, so a refused or repeated request writes nothing."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from panelflow.adapters.firestore.documents import (
    IDEMPOTENCY,
    INPUTS,
    TRANSIENT,
    USAGE,
    job_ref,
    translate,
)
from panelflow.domain.errors import Conflict, IdempotencyConflict, QuotaExceeded, TransientError
from panelflow.domain.models import IdempotencyRecord, Job, JobStatus
from panelflow.domain.quotas import Quota, Usage, charge
from panelflow.domain.retention import (
    EXPIRES_AT,
    story_expires_at,
    timestamp,
    usage_expires_at,
)

ATTEMPTS = 8


class JobAdmission:
    """``create_job`` and ``charge_usage`` of FirestoreJobStore."""

    def __init__(
        self,
        client: firestore.Client,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        story_retention_days: int = 90,
    ) -> None:
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._story_retention_days = story_retention_days

    def create_job(
        self,
        job: Job,
        story: str,
        idempotency: IdempotencyRecord | None,
        quota: Quota | None,
    ) -> Job:
        key = _Key(self._client, idempotency) if idempotency is not None else None
        for _ in range(ATTEMPTS):
            batch = self._job_batch(job, story, key)
            if quota is not None:
                try:
                    self.add_charge(batch, job.owner_uid, job.job_id, job.panels_requested, quota)
                except QuotaExceeded:
                    # A repeat of a request that got its job is answered, not refused.
                    earlier = self._live_key_job(key) if key else None
                    if earlier is not None:
                        return earlier
                    raise
            try:
                batch.commit()
                return job
            except gexc.AlreadyExists as error:
                earlier = self._after_already_exists(job, key, error)
                if earlier is not None:
                    return earlier
            except (gexc.FailedPrecondition, gexc.NotFound):
                if key is not None:
                    key.stale = None  # the usage record or the stale key changed: read again
                # One user's concurrent starts race on their usage record: spread them out.
                self._sleep(random.uniform(0.005, 0.03))
            except TRANSIENT as error:
                raise TransientError("could not store the job, try again") from error
        raise TransientError("the idempotency key or the usage record is contended; try again")

    def _job_batch(self, job: Job, story: str, key: _Key | None) -> firestore.WriteBatch:
        batch = self._client.batch()
        batch.create(job_ref(self._client, job.job_id), job.to_dict())
        batch.create(
            self._client.collection(INPUTS).document(job.job_id),
            {
                "story": story,
                "ownerUid": job.owner_uid,
                "createdAt": job.created_at,
                EXPIRES_AT: timestamp(story_expires_at(job.created_at, self._story_retention_days)),
            },
        )
        if key is not None:
            key.add_to(batch, job)
        return batch

    def _after_already_exists(
        self, job: Job, key: _Key | None, error: gexc.AlreadyExists
    ) -> Job | None:
        """After a create found its document taken: the earlier request's job, or None to
        try again (a stale key is taken over; a usage record made meanwhile is charged).

        Raises:
            Conflict: a job with this id already exists.
            IdempotencyConflict: the key was used with a different body.
        """
        if key is not None:
            key.stale = None
            snapshot = translate(key.ref.get)
            if snapshot.exists:
                earlier = self._live_key_job(key, snapshot)
                if earlier is None:
                    key.stale = snapshot  # expired, or its job is gone: this request takes it
                return earlier
        if translate(job_ref(self._client, job.job_id).get).exists:
            raise Conflict(f"job {job.job_id} already exists") from error
        return None

    def _live_key_job(self, key: _Key, snapshot: Any = None) -> Job | None:
        """The job an earlier request with this key made, while the key lives and its job
        exists; None otherwise.

        Raises:
            IdempotencyConflict: the key was used with a different body.
        """
        snapshot = snapshot or translate(key.ref.get)
        if not snapshot.exists:
            return None
        data = snapshot.to_dict() or {}
        earlier_doc = translate(job_ref(self._client, str(data.get("jobId", ""))).get)
        if not earlier_doc.exists or float(data.get("expiresAtEpoch", 0)) <= self._clock():
            return None
        if data.get("bodyHash") != key.record.body_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request body",
                field="Idempotency-Key",
            )
        return Job.from_dict(earlier_doc.to_dict())

    def add_charge(
        self, batch: firestore.WriteBatch, owner_uid: str, job_id: str, panels: int, quota: Quota
    ) -> None:
        """Adds the owner's new usage to ``batch``, guarded by the version it was read at
        (compare-and-set): a concurrent order by the same user makes the commit fail, and
        the caller reads and decides again.

        Raises:
            QuotaExceeded: nothing is added.
        """
        ref = self._client.collection(USAGE).document(owner_uid)
        snapshot = translate(ref.get)
        usage = Usage.from_dict(snapshot.to_dict() if snapshot.exists else None)
        still_active: list[str] = []
        if quota.max_active_jobs and usage.active_jobs:
            refs = [job_ref(self._client, active) for active in usage.active_jobs]
            docs = translate(lambda: list(self._client.get_all(refs, field_paths=["status"])))
            for doc in docs:
                if doc.exists and not JobStatus(doc.get("status")).terminal:
                    still_active.append(doc.id)
        updated = charge(usage, still_active, quota, job_id, panels)
        now = self._clock()
        data = updated.to_dict() | {
            "ownerUid": owner_uid,
            "updatedAt": now,
            EXPIRES_AT: timestamp(usage_expires_at(now)),
        }
        if snapshot.exists:
            option = self._client.write_option(last_update_time=snapshot.update_time)
            batch.update(ref, data, option=option)
        else:
            batch.create(ref, data)

    def charge_usage(self, owner_uid: str, job_id: str, panels: int, quota: Quota) -> None:
        for _ in range(ATTEMPTS):
            batch = self._client.batch()
            self.add_charge(batch, owner_uid, job_id, panels, quota)
            try:
                batch.commit()
                return
            except (gexc.FailedPrecondition, gexc.AlreadyExists):
                continue
            except TRANSIENT as error:
                raise TransientError("could not record the usage, try again") from error
        raise TransientError("the usage record is contended; try again")


class _Key:
    """A request's idempotency key document, and the stale version it may take over."""

    def __init__(self, client: firestore.Client, record: IdempotencyRecord) -> None:
        self._client = client
        self.record = record
        self.ref = client.collection(IDEMPOTENCY).document(record.key_id)
        # An expired key, or one whose job is gone, as read: taken over by this request.
        self.stale: Any = None

    def add_to(self, batch: firestore.WriteBatch, job: Job) -> None:
        doc = {
            "ownerUid": job.owner_uid,
            "jobId": job.job_id,
            "bodyHash": self.record.body_hash,
            "expiresAtEpoch": self.record.expires_at,
            # A timestamp, so a Firestore TTL policy on this field can delete old keys.
            "expiresAt": datetime.fromtimestamp(self.record.expires_at, tz=UTC),
        }
        if self.stale is None:
            batch.create(self.ref, doc)
        else:
            option = self._client.write_option(last_update_time=self.stale.update_time)
            batch.update(self.ref, doc, option=option)
