"""FirestoreJobStore: jobs and panels in Cloud Firestore (or its emulator)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from panelflow.adapters.google_errors import TRANSIENT_API_ERRORS
from panelflow.domain.costs import PaidCall
from panelflow.domain.errors import (
    Conflict,
    IdempotencyConflict,
    LeaseHeld,
    NotFound,
    QuotaExceeded,
    TransientError,
)
from panelflow.domain.models import (
    Asset,
    Character,
    IdempotencyRecord,
    Job,
    JobStatus,
    Panel,
    PanelStatus,
    StoryPlan,
    final_status,
)
from panelflow.domain.quotas import Quota, Usage, charge
from panelflow.ports import Claim

JOBS = "jobs"
PANELS = "panels"
INPUTS = "jobInputs"
IDEMPOTENCY = "idempotencyKeys"
# One per user: jobs running and panels ordered today (panelflow.domain.quotas).
USAGE = "usage"
# Under each job: one document per paid call (panelflow.domain.costs).
COSTS = "costs"
# Errors that say "try again", not "you are wrong": the one table of google_errors.
_TRANSIENT = TRANSIENT_API_ERRORS


_PLANNABLE = (JobStatus.QUEUED.value, JobStatus.PLANNING.value)


def panel_id(index: int) -> str:
    """Zero-padded so document ids sort like indexes."""
    return f"{index:03d}"


class FirestoreJobStore:
    """Job and panel documents; see docs/architecture.md for the write pattern."""

    def __init__(
        self,
        project_id: str,
        client: firestore.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client or firestore.Client(project=project_id)
        self._clock = clock

    @property
    def client(self) -> firestore.Client:
        return self._client

    def _job_ref(self, job_id: str) -> firestore.DocumentReference:
        return self._client.collection(JOBS).document(job_id)

    def _panel_ref(self, job_id: str, index: int) -> firestore.DocumentReference:
        return self._job_ref(job_id).collection(PANELS).document(panel_id(index))

    def create_job(
        self,
        job: Job,
        story: str,
        idempotency: IdempotencyRecord | None = None,
        quota: Quota | None = None,
    ) -> Job:
        key_ref = None
        if idempotency is not None:
            key_ref = self._client.collection(IDEMPOTENCY).document(idempotency.key_id)
        # An expired key, or one whose job is gone, is taken over by this request.
        stale_key: Any = None
        for _ in range(8):
            batch = self._client.batch()
            batch.create(self._job_ref(job.job_id), job.to_dict())
            batch.create(
                self._client.collection(INPUTS).document(job.job_id),
                {"story": story, "ownerUid": job.owner_uid, "createdAt": job.created_at},
            )
            if key_ref is not None and idempotency is not None:
                if stale_key is None:
                    batch.create(key_ref, _key_doc(job, idempotency))
                else:
                    option = self._client.write_option(last_update_time=stale_key.update_time)
                    batch.update(key_ref, _key_doc(job, idempotency), option=option)
            if quota is not None:
                try:
                    self._charge(batch, job.owner_uid, job.job_id, job.panels_requested, quota)
                except QuotaExceeded:
                    # A repeat of a request that got its job is answered, not refused.
                    earlier = self._live_key_job(key_ref, idempotency)
                    if earlier is not None:
                        return earlier
                    raise
            try:
                batch.commit()
                return job
            except gexc.AlreadyExists as error:
                stale_key = None
                if key_ref is not None and idempotency is not None:
                    snapshot = _translate(key_ref.get)
                    if snapshot.exists:
                        earlier = self._live_key_job(key_ref, idempotency, snapshot)
                        if earlier is not None:
                            return earlier
                        stale_key = snapshot
                        continue
                if self.get_job(job.job_id) is not None:
                    raise Conflict(f"job {job.job_id} already exists") from error
                # Otherwise the owner's usage record was created meanwhile: charge again.
            except (gexc.FailedPrecondition, gexc.NotFound):
                stale_key = None  # the usage record or the stale key changed: read again
                # One user's concurrent starts race on their usage record: spread them out.
                time.sleep(random.uniform(0.005, 0.03))
            except _TRANSIENT as error:
                raise TransientError("could not store the job, try again") from error
        raise TransientError("the idempotency key or the usage record is contended; try again")

    def _live_key_job(
        self,
        key_ref: firestore.DocumentReference | None,
        idempotency: IdempotencyRecord | None,
        snapshot: Any = None,
    ) -> Job | None:
        """The job an earlier request with this key made, while the key lives and its job
        exists; None otherwise.

        Raises:
            IdempotencyConflict: the key was used with a different body.
        """
        if key_ref is None or idempotency is None:
            return None
        snapshot = snapshot or _translate(key_ref.get)
        if not snapshot.exists:
            return None
        data = snapshot.to_dict() or {}
        earlier = self.get_job(str(data.get("jobId", "")))
        if earlier is None or float(data.get("expiresAtEpoch", 0)) <= self._clock():
            return None
        if data.get("bodyHash") != idempotency.body_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request body",
                field="Idempotency-Key",
            )
        return earlier

    def _charge(
        self, batch: firestore.WriteBatch, owner_uid: str, job_id: str, panels: int, quota: Quota
    ) -> None:
        """Adds the owner's new usage to ``batch``, guarded by the version it was read at
        (compare-and-set, as in ``_guarded_job_write``): a concurrent order by the same
        user makes the commit fail, and the caller reads and decides again.

        Raises:
            QuotaExceeded: nothing is added.
        """
        ref = self._client.collection(USAGE).document(owner_uid)
        snapshot = _translate(ref.get)
        usage = Usage.from_dict(snapshot.to_dict() if snapshot.exists else None)
        still_active: list[str] = []
        if quota.max_active_jobs and usage.active_jobs:
            refs = [self._job_ref(active) for active in usage.active_jobs]
            docs = _translate(lambda: list(self._client.get_all(refs, field_paths=["status"])))
            for doc in docs:
                if doc.exists and not JobStatus(doc.get("status")).terminal:
                    still_active.append(doc.id)
        updated = charge(usage, still_active, quota, job_id, panels)
        data = updated.to_dict() | {"ownerUid": owner_uid, "updatedAt": self._clock()}
        if snapshot.exists:
            option = self._client.write_option(last_update_time=snapshot.update_time)
            batch.update(ref, data, option=option)
        else:
            batch.create(ref, data)

    def charge_usage(self, owner_uid: str, job_id: str, panels: int, quota: Quota) -> None:
        for _ in range(8):
            batch = self._client.batch()
            self._charge(batch, owner_uid, job_id, panels, quota)
            try:
                batch.commit()
                return
            except (gexc.FailedPrecondition, gexc.AlreadyExists):
                continue
            except _TRANSIENT as error:
                raise TransientError("could not record the usage, try again") from error
        raise TransientError("the usage record is contended; try again")

    def delete_job(self, job_id: str, idempotency_key_id: str = "") -> None:
        batch = self._client.batch()
        batch.delete(self._job_ref(job_id))
        batch.delete(self._client.collection(INPUTS).document(job_id))
        if idempotency_key_id:
            batch.delete(self._client.collection(IDEMPOTENCY).document(idempotency_key_id))
        batch.commit()

    def get_job(self, job_id: str) -> Job | None:
        snapshot = _translate(self._job_ref(job_id).get)
        return Job.from_dict(snapshot.to_dict()) if snapshot.exists else None

    def get_story(self, job_id: str) -> str:
        snapshot = _translate(self._client.collection(INPUTS).document(job_id).get)
        if not snapshot.exists:
            raise NotFound(f"no story stored for job {job_id}")
        return str(snapshot.get("story"))

    def get_panel(self, job_id: str, index: int) -> Panel | None:
        snapshot = _translate(self._panel_ref(job_id, index).get)
        return Panel.from_dict(snapshot.to_dict()) if snapshot.exists else None

    def list_panels(self, job_id: str) -> list[Panel]:
        query = self._job_ref(job_id).collection(PANELS).order_by("index")
        return [Panel.from_dict(doc.to_dict()) for doc in _translate(query.get)]

    def list_jobs(self, owner_uid: str, limit: int = 20) -> list[Job]:
        query = (
            self._client.collection(JOBS)
            .where(filter=FieldFilter("ownerUid", "==", owner_uid))
            .order_by("createdAt", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [Job.from_dict(doc.to_dict()) for doc in _translate(query.get)]

    def _compare_and_set(
        self,
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
            _Contended: the document changed under every one of ``attempts`` reads.
        """
        for _ in range(attempts):
            snapshot = _translate(ref.get)
            update = decide(snapshot)
            if update is None:
                return None
            batch = self._client.batch()
            if extra is not None:
                extra(batch)
            option = self._client.write_option(last_update_time=snapshot.update_time)
            batch.update(ref, update, option=option)
            try:
                return batch.commit()[-1]
            except gexc.FailedPrecondition:
                continue
            except _TRANSIENT as error:
                raise TransientError("the job store is unavailable, try again") from error
        raise _Contended

    def _guarded_job_write(
        self,
        job_id: str,
        decide: Callable[[dict[str, Any]], dict[str, Any] | None],
        extra: Callable[[firestore.WriteBatch], None] | None = None,
    ) -> bool:
        """Compare-and-set on the job document (see _compare_and_set); False if it is missing
        or ``decide`` declined."""

        def on_snapshot(snapshot: Any) -> dict[str, Any] | None:
            return decide(snapshot.to_dict() or {}) if snapshot.exists else None

        try:
            return self._compare_and_set(self._job_ref(job_id), on_snapshot, extra) is not None
        except _Contended:
            raise TransientError(f"job {job_id} is changing too often; try again") from None

    def transition_job(
        self, job_id: str, expected: Sequence[JobStatus], new: JobStatus, **fields: object
    ) -> bool:
        allowed = {status.value for status in expected}
        now = self._clock()

        def decide(data: dict[str, Any]) -> dict[str, Any] | None:
            if data.get("status") not in allowed:
                return None
            update: dict[str, Any] = {"status": new.value, "updatedAt": now, **fields}
            if new.terminal:
                update["finishedAt"] = now
            return update

        return self._guarded_job_write(job_id, decide)

    def save_plan(
        self, job_id: str, plan: StoryPlan, characters: Sequence[Character], plan_ms: int
    ) -> bool:
        now = self._clock()

        def decide(data: dict[str, Any]) -> dict[str, Any] | None:
            if data.get("status") not in _PLANNABLE:
                return None
            return {
                "status": JobStatus.RENDERING.value,
                "title": plan.title,
                "panelCount": len(plan.panels),
                "characters": [character.to_dict() for character in characters],
                "timings.planMs": plan_ms,
                "updatedAt": now,
            }

        def panels(batch: firestore.WriteBatch) -> None:
            for panel_plan in plan.panels:
                panel = Panel.from_plan(job_id, panel_plan)
                data = panel.to_dict() | {"createdAt": now, "updatedAt": now}
                batch.set(self._panel_ref(job_id, panel_plan.index), data)

        return self._guarded_job_write(job_id, decide, panels)

    def claim_panel(self, job_id: str, index: int, owner: str, lease_seconds: float) -> Claim:
        # Compare-and-set on the panel document, not a transaction: a panel is only ever
        # contended by duplicate deliveries of its own message.
        claim: Claim | None = None

        def decide(snapshot: Any) -> dict[str, Any] | None:
            nonlocal claim
            if not snapshot.exists:
                raise NotFound(f"panel {index} of job {job_id} does not exist")
            panel = Panel.from_dict(snapshot.to_dict() or {})
            if panel.status.finished:
                claim = Claim(panel=panel, acquired=False, attempt=panel.attempts)
                return None
            now = self._clock()
            lease_live = (
                panel.status == PanelStatus.RENDERING
                and panel.lease_owner not in (None, owner)
                and (panel.lease_expires_at or 0) > now
            )
            if lease_live:
                raise LeaseHeld(f"panel {index} is being rendered by another worker")
            panel.status = PanelStatus.RENDERING
            panel.attempts += 1
            panel.lease_owner = owner
            panel.lease_expires_at = now + lease_seconds
            claim = Claim(panel=panel, acquired=True, attempt=panel.attempts)
            return {
                "status": panel.status.value,
                "attempts": panel.attempts,
                "lease": {"owner": owner, "expiresAt": panel.lease_expires_at},
                "startedAt": now,
                "updatedAt": now,
            }

        try:
            result = self._compare_and_set(self._panel_ref(job_id, index), decide, attempts=5)
        except _Contended:
            raise TransientError(f"panel {index} is changing too often to claim") from None
        assert claim is not None
        return claim if result is None else replace(claim, token=result.update_time)

    def _update_if_owned(
        self, job_id: str, index: int, owner: str | None, update: dict[str, Any]
    ) -> bool:
        """Writes ``update`` unless the panel finished or changed hands since it was read."""

        def decide(snapshot: Any) -> dict[str, Any] | None:
            if not snapshot.exists:
                return None
            data = snapshot.to_dict() or {}
            if PanelStatus(data["status"]).finished:
                return None
            holder = (data.get("lease") or {}).get("owner")
            if owner is not None and holder != owner:
                return None
            return update

        ref = self._panel_ref(job_id, index)
        try:
            return self._compare_and_set(ref, decide, attempts=3) is not None
        except _Contended:
            return False

    def complete_panel(
        self,
        job_id: str,
        index: int,
        owner: str,
        image: Asset,
        audio: Asset | None,
        token: object | None = None,
    ) -> bool:
        now = self._clock()
        update = {
            "status": PanelStatus.DONE.value,
            "image": image.to_dict(),
            "audio": audio.to_dict() if audio else None,
            "error": None,
            "lease": None,
            "finishedAt": now,
            "updatedAt": now,
        }
        if token is not None:
            # Unchanged since our claim means we still hold the lease: one write, no read.
            option = self._client.write_option(last_update_time=token)
            try:
                self._panel_ref(job_id, index).update(update, option=option)
                return True
            except gexc.FailedPrecondition:
                pass  # someone else wrote it meanwhile: decide on a fresh read
            except _TRANSIENT as error:
                raise TransientError(f"could not update panel {index}") from error
        return self._update_if_owned(job_id, index, owner, update)

    def fail_panel(
        self, job_id: str, index: int, error: dict[str, str], owner: str | None = None
    ) -> bool:
        now = self._clock()
        update = {
            "status": PanelStatus.FAILED.value,
            "error": error,
            "lease": None,
            "finishedAt": now,
            "updatedAt": now,
        }
        return self._update_if_owned(job_id, index, owner, update)

    def release_panel(self, job_id: str, index: int, owner: str | None) -> bool:
        update = {"status": PanelStatus.PENDING.value, "lease": None, "updatedAt": self._clock()}
        return self._update_if_owned(job_id, index, owner, update)

    def requeue_panels(
        self,
        job_id: str,
        indexes: Sequence[int],
        expected: Sequence[JobStatus],
        regenerate: bool = False,
    ) -> bool:
        allowed = {status.value for status in expected}
        now = self._clock()

        def decide(data: dict[str, Any]) -> dict[str, Any] | None:
            if data.get("status") not in allowed:
                return None
            return {
                "status": JobStatus.RENDERING.value,
                "finishedAt": None,
                "error": None,
                "updatedAt": now,
            }

        def panels(batch: firestore.WriteBatch) -> None:
            for index in indexes:
                update: dict[str, Any] = {
                    "status": PanelStatus.PENDING.value,
                    "error": None,
                    "lease": None,
                    "updatedAt": now,
                }
                if regenerate:
                    update["generation"] = firestore.Increment(1)
                batch.update(self._panel_ref(job_id, index), update)

        return self._guarded_job_write(job_id, decide, panels)

    def expired_leases(self, now: float, limit: int = 100) -> list[Panel]:
        query = (
            self._client.collection_group(PANELS)
            .where(filter=FieldFilter("status", "==", PanelStatus.RENDERING.value))
            .where(filter=FieldFilter("lease.expiresAt", "<", now))
            .limit(limit)
        )
        return [Panel.from_dict(doc.to_dict() or {}) for doc in _translate(query.get)]

    def stale_jobs(
        self, statuses: Sequence[JobStatus], updated_before: float, limit: int = 100
    ) -> list[Job]:
        query = (
            self._client.collection(JOBS)
            .where(filter=FieldFilter("status", "in", [status.value for status in statuses]))
            .where(filter=FieldFilter("updatedAt", "<", updated_before))
            .limit(limit)
        )
        return [Job.from_dict(doc.to_dict() or {}) for doc in _translate(query.get)]

    def finished_counts(self, job_id: str, panel_count: int) -> tuple[int, int] | None:
        # One aggregation per call until the last panel; the failed count only then.
        panels = self._job_ref(job_id).collection(PANELS)
        finished_query = panels.where(
            filter=FieldFilter("status", "in", [PanelStatus.DONE.value, PanelStatus.FAILED.value])
        ).count()
        finished = int(_translate(finished_query.get)[0][0].value)
        if finished < panel_count:
            return None
        failed_query = panels.where(
            filter=FieldFilter("status", "==", PanelStatus.FAILED.value)
        ).count()
        failed = int(_translate(failed_query.get)[0][0].value)
        return finished - failed, failed

    def finalize_job(self, job_id: str, done: int, failed: int) -> JobStatus | None:
        now = self._clock()
        first_done = self._first_finished_at(job_id)
        status = final_status(done, failed)

        def decide(data: dict[str, Any]) -> dict[str, Any] | None:
            if data.get("status") != JobStatus.RENDERING.value:
                return None
            if done + failed != int(data.get("panelCount", 0)):
                return None
            created = float(data.get("createdAt") or now)
            update: dict[str, Any] = {
                "status": status.value,
                "panelsDone": done,
                "panelsFailed": failed,
                "progress": 1.0,
                "finishedAt": now,
                "updatedAt": now,
                "timings.totalMs": int((now - created) * 1000),
            }
            if first_done is not None:
                update["timings.firstPanelMs"] = int((first_done - created) * 1000)
            if status == JobStatus.FAILED:
                update["error"] = {
                    "code": "all_panels_failed",
                    "message": "every panel failed; see each panel's error",
                }
            return update

        return status if self._guarded_job_write(job_id, decide) else None

    def _first_finished_at(self, job_id: str) -> float | None:
        query = (
            self._job_ref(job_id)
            .collection(PANELS)
            .where(filter=FieldFilter("status", "==", PanelStatus.DONE.value))
            .order_by("finishedAt")
            .limit(1)
        )
        docs = _translate(query.get)
        return float(docs[0].get("finishedAt")) if docs else None

    # ---- cost ledger: jobs/{jobId}/costs/{callId}, one document per paid call ----------

    def record_costs(self, job_id: str, calls: Sequence[PaidCall]) -> None:
        if not calls:
            return
        batch = self._client.batch()
        for call in calls:
            batch.set(
                self._job_ref(job_id).collection(COSTS).document(call.call_id), call.to_dict()
            )
        _translate(batch.commit)

    def list_costs(self, job_id: str) -> list[PaidCall]:
        query = self._job_ref(job_id).collection(COSTS).order_by("at")
        return [PaidCall.from_dict(doc.to_dict()) for doc in _translate(query.get)]


class _Contended(Exception):
    """A compare-and-set lost to concurrent writers on every attempt."""


def _key_doc(job: Job, idempotency: IdempotencyRecord) -> dict[str, Any]:
    return {
        "ownerUid": job.owner_uid,
        "jobId": job.job_id,
        "bodyHash": idempotency.body_hash,
        "expiresAtEpoch": idempotency.expires_at,
        # A timestamp, so a Firestore TTL policy on this field can delete old keys.
        "expiresAt": datetime.fromtimestamp(idempotency.expires_at, tz=UTC),
    }


def _translate(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except _TRANSIENT as error:
        raise TransientError("the job store is unavailable, try again") from error
