"""FirestoreJobStore: jobs and panels in Cloud Firestore (or its emulator)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from panelflow.domain.errors import Conflict, LeaseHeld, NotFound, TransientError
from panelflow.domain.models import (
    Asset,
    Character,
    Job,
    JobStatus,
    Panel,
    PanelStatus,
    StoryPlan,
    final_status,
)
from panelflow.ports import Claim

JOBS = "jobs"
PANELS = "panels"
INPUTS = "jobInputs"
# Errors that say "try again", not "you are wrong".
_TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.Aborted,
    gexc.ResourceExhausted,
)


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

    def create_job(self, job: Job, story: str) -> None:
        batch = self._client.batch()
        batch.create(self._job_ref(job.job_id), job.to_dict())
        batch.create(
            self._client.collection(INPUTS).document(job.job_id),
            {"story": story, "ownerUid": job.owner_uid, "createdAt": job.created_at},
        )
        try:
            batch.commit()
        except gexc.AlreadyExists as error:
            raise Conflict(f"job {job.job_id} already exists") from error
        except _TRANSIENT as error:
            raise TransientError("could not store the job, try again") from error

    def delete_job(self, job_id: str) -> None:
        batch = self._client.batch()
        batch.delete(self._job_ref(job_id))
        batch.delete(self._client.collection(INPUTS).document(job_id))
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

    def transition_job(
        self, job_id: str, expected: Sequence[JobStatus], new: JobStatus, **fields: object
    ) -> bool:
        ref = self._job_ref(job_id)
        allowed = {status.value for status in expected}
        now = self._clock()

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> bool:
            snapshot = ref.get(transaction=transaction)
            if not snapshot.exists or snapshot.get("status") not in allowed:
                return False
            update: dict[str, Any] = {"status": new.value, "updatedAt": now, **fields}
            if new.terminal:
                update["finishedAt"] = now
            transaction.update(ref, update)
            return True

        return _translate(lambda: run(self._client.transaction()))

    def save_plan(
        self, job_id: str, plan: StoryPlan, characters: Sequence[Character], plan_ms: int
    ) -> bool:
        ref = self._job_ref(job_id)
        now = self._clock()

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> bool:
            snapshot = ref.get(transaction=transaction)
            if not snapshot.exists or snapshot.get("status") != JobStatus.PLANNING.value:
                return False
            for panel_plan in plan.panels:
                panel = Panel.from_plan(job_id, panel_plan)
                data = panel.to_dict() | {"createdAt": now, "updatedAt": now}
                transaction.set(self._panel_ref(job_id, panel_plan.index), data)
            transaction.update(
                ref,
                {
                    "status": JobStatus.RENDERING.value,
                    "title": plan.title,
                    "panelCount": len(plan.panels),
                    "characters": [character.to_dict() for character in characters],
                    "timings.planMs": plan_ms,
                    "updatedAt": now,
                },
            )
            return True

        return _translate(lambda: run(self._client.transaction()))

    def claim_panel(self, job_id: str, index: int, owner: str, lease_seconds: float) -> Claim:
        ref = self._panel_ref(job_id, index)
        now = self._clock()

        # A transaction on the panel document only: it is contended by duplicate
        # deliveries of one message at most, never by the job's other panels.
        @firestore.transactional
        def run(transaction: firestore.Transaction) -> Claim:
            snapshot = ref.get(transaction=transaction)
            if not snapshot.exists:
                raise NotFound(f"panel {index} of job {job_id} does not exist")
            panel = Panel.from_dict(snapshot.to_dict() or {})
            if panel.status.finished:
                return Claim(panel=panel, acquired=False, attempt=panel.attempts)
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
            transaction.update(
                ref,
                {
                    "status": panel.status.value,
                    "attempts": panel.attempts,
                    "lease": {"owner": owner, "expiresAt": panel.lease_expires_at},
                    "startedAt": now,
                    "updatedAt": now,
                },
            )
            return Claim(panel=panel, acquired=True, attempt=panel.attempts)

        return _translate(lambda: run(self._client.transaction()))

    def _update_if_owned(
        self, job_id: str, index: int, owner: str | None, update: dict[str, Any]
    ) -> bool:
        """Writes ``update`` unless the panel finished or changed hands since it was read."""
        ref = self._panel_ref(job_id, index)
        for _ in range(3):
            snapshot = _translate(ref.get)
            if not snapshot.exists:
                return False
            data = snapshot.to_dict() or {}
            if PanelStatus(data["status"]).finished:
                return False
            holder = (data.get("lease") or {}).get("owner")
            if owner is not None and holder != owner:
                return False
            # The precondition turns read-then-write into compare-and-set without a
            # transaction: a concurrent writer makes this fail, and we read again.
            option = self._client.write_option(last_update_time=snapshot.update_time)
            try:
                ref.update(update, option=option)
                return True
            except gexc.FailedPrecondition:
                continue
            except _TRANSIENT as error:
                raise TransientError(f"could not update panel {index}") from error
        return False

    def complete_panel(
        self, job_id: str, index: int, owner: str, image: Asset, audio: Asset | None
    ) -> bool:
        now = self._clock()
        return self._update_if_owned(
            job_id,
            index,
            owner,
            {
                "status": PanelStatus.DONE.value,
                "image": image.to_dict(),
                "audio": audio.to_dict() if audio else None,
                "error": None,
                "lease": None,
                "finishedAt": now,
                "updatedAt": now,
            },
        )

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

    def release_panel(self, job_id: str, index: int, owner: str) -> bool:
        update = {"status": PanelStatus.PENDING.value, "lease": None, "updatedAt": self._clock()}
        return self._update_if_owned(job_id, index, owner, update)

    def count_finished(self, job_id: str) -> tuple[int, int]:
        panels = self._job_ref(job_id).collection(PANELS)

        def count(statuses: list[str]) -> int:
            query = panels.where(filter=FieldFilter("status", "in", statuses)).count()
            result = _translate(query.get)
            return int(result[0][0].value)

        finished = count([PanelStatus.DONE.value, PanelStatus.FAILED.value])
        failed = count([PanelStatus.FAILED.value]) if finished else 0
        return finished - failed, failed

    def finalize_job(self, job_id: str, done: int, failed: int) -> JobStatus | None:
        ref = self._job_ref(job_id)
        now = self._clock()
        first_done = self._first_finished_at(job_id)

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> JobStatus | None:
            snapshot = ref.get(transaction=transaction)
            if not snapshot.exists:
                return None
            data = snapshot.to_dict() or {}
            if data.get("status") != JobStatus.RENDERING.value:
                return None
            if done + failed != int(data.get("panelCount", 0)):
                return None
            status = final_status(done, failed)
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
            transaction.update(ref, update)
            return status

        return _translate(lambda: run(self._client.transaction()))

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


def _translate(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except _TRANSIENT as error:
        raise TransientError("the job store is unavailable, try again") from error
