"""Fakes of JobStore, PanelQueue and BlobStore with the adapters' semantics."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from panelflow.domain import leases
from panelflow.domain.costs import PaidCall
from panelflow.domain.errors import Conflict, IdempotencyConflict, NotFound
from panelflow.domain.exports import Export, ExportStatus
from panelflow.domain.finishing import final_move
from panelflow.domain.models import (
    Asset,
    Character,
    IdempotencyRecord,
    Job,
    JobStatus,
    Panel,
    PanelAssets,
    PanelStatus,
    StoryPlan,
)
from panelflow.domain.quotas import Quota, Usage, UsageCharge, charge
from panelflow.domain.retention import story_expires_at, usage_expires_at
from panelflow.ports import Claim, Closing, SignedUrl


class InMemoryJobStore:
    """A JobStore in memory; lease and final-move decisions are the domain's, as in the
    Firestore adapter."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.jobs: dict[str, Job] = {}
        self.stories: dict[str, str] = {}
        self.story_owners: dict[str, str] = {}
        # When each story and usage record may be deleted (panelflow.domain.retention).
        self.expires: dict[tuple[str, str], float] = {}
        self.panels: dict[str, dict[int, Panel]] = {}
        self.finished_at: dict[tuple[str, int], float] = {}
        self.final_transitions: list[tuple[str, JobStatus]] = []
        self.keys: dict[str, dict[str, Any]] = {}
        self.usage: dict[str, Usage] = {}
        # job id -> call id -> paid call (the cost ledger).
        self.costs: dict[str, dict[str, PaidCall]] = {}
        # job id -> export id -> export.
        self.exports: dict[str, dict[str, Export]] = {}
        # Plans saved: each gets a version.
        self.plan_versions = 0
        self._lock = threading.RLock()
        self._clock = clock

    def create_job(
        self,
        job: Job,
        story: str,
        idempotency: IdempotencyRecord | None = None,
        quota: Quota | None = None,
    ) -> Job:
        with self._lock:
            if job.job_id in self.jobs:
                raise Conflict(f"job {job.job_id} already exists")
            earlier = self._earlier_job(idempotency)
            if earlier is not None:
                return earlier
            usage = None
            if quota is not None:
                usage = self._charged(job.owner_uid, job.job_id, job.panels_requested, quota)
            if idempotency is not None:
                self.keys[idempotency.key_id] = {
                    "ownerUid": job.owner_uid,
                    "jobId": job.job_id,
                    "bodyHash": idempotency.body_hash,
                    "expiresAt": idempotency.expires_at,
                }
            if usage is not None:
                self._set_usage(job.owner_uid, usage)
            self.jobs[job.job_id] = copy.deepcopy(job)
            self.stories[job.job_id] = story
            self.story_owners[job.job_id] = job.owner_uid
            self.expires[("jobInputs", job.job_id)] = story_expires_at(job.created_at, 90)
            return copy.deepcopy(job)

    def _earlier_job(self, idempotency: IdempotencyRecord | None) -> Job | None:
        """The job of a live key recorded by an earlier request, if any."""
        if idempotency is None:
            return None
        key = self.keys.get(idempotency.key_id)
        earlier = self.jobs.get(key["jobId"]) if key else None
        if key and earlier and key["expiresAt"] > self._clock():
            if key["bodyHash"] != idempotency.body_hash:
                raise IdempotencyConflict(
                    "this Idempotency-Key was used with a different request body",
                    field="Idempotency-Key",
                )
            return copy.deepcopy(earlier)
        return None

    def _charged(self, owner_uid: str, job_id: str, panels: int, quota: Quota) -> Usage:
        usage = self.usage.get(owner_uid, Usage())
        still_active = [
            active
            for active in usage.active_jobs
            if active in self.jobs and not self.jobs[active].status.terminal
        ]
        return charge(usage, still_active, quota, job_id, panels)

    def charge_usage(self, owner_uid: str, job_id: str, panels: int, quota: Quota) -> None:
        with self._lock:
            self._set_usage(owner_uid, self._charged(owner_uid, job_id, panels, quota))

    def _charged_move(
        self, job_id: str, expected: Sequence[JobStatus], charge: UsageCharge | None
    ) -> Job | None:
        """The job if it may move (its status is expected), charged in the same locked step
        (raises before anything changes); None when it may not move."""
        job = self.jobs.get(job_id)
        if job is None or job.status not in expected:
            return None
        if charge is not None:
            self._set_usage(
                charge.owner_uid,
                self._charged(charge.owner_uid, job_id, charge.panels, charge.quota),
            )
        return job

    def _set_usage(self, owner_uid: str, usage: Usage) -> None:
        self.usage[owner_uid] = usage
        self.expires[("usage", owner_uid)] = usage_expires_at(self._clock())

    def purge_expired(self, now: float, limit: int = 200) -> dict[str, int]:
        with self._lock:
            purged = {"idempotencyKeys": 0, "jobInputs": 0, "usage": 0}
            for key_id in [k for k, v in self.keys.items() if v["expiresAt"] < now][:limit]:
                del self.keys[key_id]
                purged["idempotencyKeys"] += 1
            for (collection, doc_id), expires in list(self.expires.items()):
                if expires < now and purged[collection] < limit:
                    del self.expires[(collection, doc_id)]
                    removed: object = (
                        self.stories.pop(doc_id, None)
                        if collection == "jobInputs"
                        else self.usage.pop(doc_id, None)
                    )
                    purged[collection] += int(removed is not None)
            return purged

    def delete_job(self, job_id: str, idempotency_key_id: str = "") -> None:
        with self._lock:
            self.jobs.pop(job_id, None)
            self.stories.pop(job_id, None)
            self.keys.pop(idempotency_key_id, None)
            self.panels.pop(job_id, None)
            self.costs.pop(job_id, None)
            self.exports.pop(job_id, None)
            for key in [key for key in self.finished_at if key[0] == job_id]:
                del self.finished_at[key]

    def delete_owner_records(self, owner_uid: str) -> None:
        with self._lock:
            self.usage.pop(owner_uid, None)
            for key_id in [k for k, v in self.keys.items() if v.get("ownerUid") == owner_uid]:
                del self.keys[key_id]
            for job_id in [j for j, owner in self.story_owners.items() if owner == owner_uid]:
                self.stories.pop(job_id, None)
                del self.story_owners[job_id]

    def get_job(self, job_id: str) -> Job | None:
        with self._lock:
            job = self.jobs.get(job_id)
            return copy.deepcopy(job) if job else None

    def get_story(self, job_id: str) -> str:
        with self._lock:
            if job_id not in self.stories:
                raise NotFound(f"no story stored for job {job_id}")
            return self.stories[job_id]

    def get_job_and_story(self, job_id: str) -> tuple[Job | None, str | None]:
        with self._lock:
            job = self.jobs.get(job_id)
            return (copy.deepcopy(job) if job else None), self.stories.get(job_id)

    def get_panel(self, job_id: str, index: int) -> Panel | None:
        with self._lock:
            panel = self.panels.get(job_id, {}).get(index)
            return copy.deepcopy(panel) if panel else None

    def list_panels(self, job_id: str) -> list[Panel]:
        with self._lock:
            return [copy.deepcopy(p) for _, p in sorted(self.panels.get(job_id, {}).items())]

    def list_jobs(self, owner_uid: str, limit: int = 20) -> list[Job]:
        with self._lock:
            mine = [j for j in self.jobs.values() if j.owner_uid == owner_uid]
            mine.sort(key=lambda job: job.created_at, reverse=True)
            return copy.deepcopy(mine[:limit])

    def transition_job(
        self,
        job_id: str,
        expected: Sequence[JobStatus],
        new: JobStatus,
        *,
        charge: UsageCharge | None = None,
        **fields: object,
    ) -> bool:
        with self._lock:
            job = self._charged_move(job_id, expected, charge)
            if job is None:
                return False
            job.status = new
            job.updated_at = self._clock()
            if new.terminal:
                job.finished_at = job.updated_at
                self._story_kept_from(job_id, job.updated_at)
            if "error" in fields:
                job.error = fields["error"]  # type: ignore[assignment]
            return True

    def save_plan(
        self,
        job_id: str,
        plan: StoryPlan,
        characters: Sequence[Character],
        plan_ms: int,
        images: Mapping[int, Asset] | None = None,
        costs: Sequence[PaidCall] = (),
    ) -> str | None:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None or job.status not in (JobStatus.QUEUED, JobStatus.PLANNING):
                return None
            ledger = self.costs.setdefault(job_id, {})
            for call in costs:
                ledger.setdefault(call.call_id, call)
            self.panels[job_id] = {p.index: Panel.from_plan(job_id, p) for p in plan.panels}
            for index, image in (images or {}).items():
                self.panels[job_id][index].image = image
            job.status = JobStatus.RENDERING
            job.title = plan.title
            job.panel_count = len(plan.panels)
            job.characters = list(characters)
            job.timings["planMs"] = plan_ms
            self.plan_versions += 1
            return f"plan-{self.plan_versions}"

    def claim_panel(
        self,
        job_id: str,
        index: int,
        owner: str,
        lease_seconds: float,
        planned: str | None = None,
    ) -> Claim:
        # ``planned`` only lets the adapter skip a round trip; the outcome is the same.
        with self._lock:
            panel = self.panels.get(job_id, {}).get(index)
            if panel is None:
                raise NotFound(f"panel {index} of job {job_id} does not exist")
            claim = leases.claim(panel, owner, lease_seconds, self._clock())
            if claim.acquired:
                self.panels[job_id][index] = copy.deepcopy(claim.panel)
            # Read with the claim, as the adapter does: the job and the previous panel (its
            # client-readable fields: the adapter does not read its lease).
            before = self.panels[job_id].get(index - 1) if index else None
            previous = (
                replace(before, attempts=0, lease_owner=None, lease_expires_at=None)
                if before
                else None
            )
            return replace(
                claim,
                panel=copy.deepcopy(claim.panel),
                job=self.get_job(job_id),
                previous=copy.deepcopy(previous),
            )

    def _finish_if_owned(self, job_id: str, index: int, owner: str | None, **changes: Any) -> bool:
        panel = self.panels.get(job_id, {}).get(index)
        if panel is None or not leases.may_change(panel.status, panel.lease_owner, owner):
            return False
        for key, value in changes.items():
            setattr(panel, key, value)
        panel.lease_owner = None
        panel.lease_expires_at = None
        if panel.status.finished:
            self.finished_at[(job_id, index)] = self._clock()
        return True

    def complete_panel(
        self,
        job_id: str,
        index: int,
        owner: str,
        assets: PanelAssets,
        token: object | None = None,
        costs: Sequence[PaidCall] = (),
        closing: Closing | None = None,
    ) -> bool:
        self.record_costs(job_id, costs)
        with self._lock:
            recorded = self._finish_if_owned(
                job_id,
                index,
                owner,
                status=PanelStatus.DONE,
                image=assets.image,
                audio=assets.audio,
                notes=[dict(note) for note in assets.notes],
                error=None,
            )
            known = None
            if recorded and closing is not None:
                at = {index: self.finished_at[(job_id, index)]}
                known = closing.outcome(at)
                closing.recorded(at)
            job = self.jobs.get(job_id)
            move = None
            if known is not None and job is not None:
                move = final_move(job, *known[:2], self._clock(), known[2])
            if move is not None and job is not None:
                # The job ends in the same write as its last panel.
                move.apply(job)
                self._story_kept_from(job_id, self._clock())
                self.final_transitions.append((job_id, job.status))
        if move is not None and closing is not None:
            closing.closed(move.status)
        return recorded

    def fail_panel(
        self, job_id: str, index: int, error: dict[str, str], owner: str | None = None
    ) -> bool:
        with self._lock:
            return self._finish_if_owned(
                job_id, index, owner, status=PanelStatus.FAILED, error=error
            )

    def release_panel(self, job_id: str, index: int, owner: str | None) -> bool:
        with self._lock:
            return self._finish_if_owned(job_id, index, owner, status=PanelStatus.PENDING)

    def requeue_panels(
        self,
        job_id: str,
        indexes: Sequence[int],
        expected: Sequence[JobStatus],
        regenerate: bool = False,
        charge: UsageCharge | None = None,
    ) -> bool:
        with self._lock:
            job = self._charged_move(job_id, expected, charge)
            if job is None:
                return False
            job.status = JobStatus.RENDERING
            job.finished_at = None
            job.error = None
            job.generation += 1
            for index in indexes:
                panel = self.panels[job_id][index]
                panel.status = PanelStatus.PENDING
                panel.error = None
                panel.lease_owner = None
                panel.lease_expires_at = None
                if regenerate:
                    panel.generation += 1
            return True

    def edit_panel(
        self,
        job_id: str,
        index: int,
        fields: Mapping[str, object],
        *,
        expected: Sequence[JobStatus],
        requeue: bool,
        charge: UsageCharge | None = None,
    ) -> bool:
        with self._lock:
            job = self._charged_move(job_id, expected, charge if requeue else None)
            panel = self.panels.get(job_id, {}).get(index)
            if job is None or panel is None:
                return False
            edited = Panel.from_dict({**panel.to_dict(), **fields})
            panel.caption, panel.narration = edited.caption, edited.narration
            panel.dialogue, panel.image_prompt = edited.dialogue, edited.image_prompt
            job.generation += 1
            job.updated_at = self._clock()
            if requeue:
                job.status = JobStatus.RENDERING
                job.finished_at = None
                job.error = None
                panel.status = PanelStatus.PENDING
                panel.error = None
                panel.lease_owner = panel.lease_expires_at = None
            return True

    def expired_leases(self, now: float, limit: int = 100) -> list[Panel]:
        with self._lock:
            expired = [
                copy.deepcopy(panel)
                for panels in self.panels.values()
                for panel in panels.values()
                if leases.lease_expired(panel, now)
            ]
            return expired[:limit]

    def stale_jobs(
        self, statuses: Sequence[JobStatus], updated_before: float, limit: int = 100
    ) -> list[Job]:
        with self._lock:
            stale = [
                copy.deepcopy(job)
                for job in self.jobs.values()
                if job.status in statuses and job.updated_at < updated_before
            ]
            return stale[:limit]

    def finished_counts(self, job_id: str, panel_count: int) -> tuple[int, int] | None:
        with self._lock:
            panels = self.panels.get(job_id, {}).values()
            done = sum(1 for p in panels if p.status == PanelStatus.DONE)
            failed = sum(1 for p in panels if p.status == PanelStatus.FAILED)
            return (done, failed) if done + failed >= panel_count else None

    def finalize_job(
        self, job_id: str, done: int, failed: int, first_done_at: float | None = None
    ) -> JobStatus | None:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            if first_done_at is None:
                first_done_at = self._first_done_at(job_id)
            move = final_move(job, done, failed, self._clock(), first_done_at)
            if move is None:
                return None
            move.apply(job)
            self._story_kept_from(job_id, self._clock())
            self.final_transitions.append((job_id, job.status))
            return job.status

    def _story_kept_from(self, job_id: str, ended_at: float) -> None:
        if job_id in self.stories:
            self.expires[("jobInputs", job_id)] = story_expires_at(ended_at, 90)

    def _first_done_at(self, job_id: str) -> float | None:
        done = [
            self.finished_at[(job_id, index)]
            for index, panel in self.panels.get(job_id, {}).items()
            if panel.status == PanelStatus.DONE and (job_id, index) in self.finished_at
        ]
        return min(done, default=None)

    def record_costs(self, job_id: str, calls: Sequence[PaidCall]) -> None:
        with self._lock:
            ledger = self.costs.setdefault(job_id, {})
            for call in calls:
                ledger.setdefault(call.call_id, call)

    def list_costs(self, job_id: str) -> list[PaidCall]:
        with self._lock:
            return sorted(self.costs.get(job_id, {}).values(), key=lambda call: call.at)

    def create_export(self, export: Export) -> tuple[Export, bool]:
        with self._lock:
            exports = self.exports.setdefault(export.job_id, {})
            if export.export_id in exports:
                return copy.deepcopy(exports[export.export_id]), False
            exports[export.export_id] = copy.deepcopy(export)
            return copy.deepcopy(export), True

    def get_export(self, job_id: str, export_id: str) -> Export | None:
        with self._lock:
            export = self.exports.get(job_id, {}).get(export_id)
            return copy.deepcopy(export) if export else None

    def save_export(self, export: Export, expected: Sequence[ExportStatus]) -> bool:
        with self._lock:
            stored = self.exports.get(export.job_id, {}).get(export.export_id)
            if stored is None or stored.status not in expected:
                return False
            self.exports[export.job_id][export.export_id] = copy.deepcopy(export)
            return True


class RecordingQueue:
    """Records what was published; ``fail_next`` makes the next publish raise."""

    def __init__(self) -> None:
        self.plans: list[str] = []
        self.panels: list[tuple[str, int]] = []
        # The plan version each panel message carried (None: none).
        self.versions: list[str | None] = []
        self.finished: list[str] = []
        self.exports: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None

    def publish_plan(self, job_id: str) -> None:
        self._maybe_fail()
        self.plans.append(job_id)

    def publish_panels(
        self, job_id: str, indexes: Sequence[int], planned: str | None = None
    ) -> None:
        self._maybe_fail()
        self.panels.extend((job_id, index) for index in indexes)
        self.versions.extend(planned for _ in indexes)

    def publish_finished(self, job_id: str) -> None:
        self.finished.append(job_id)

    def publish_export(self, job_id: str, export_id: str) -> None:
        self._maybe_fail()
        self.exports.append((job_id, export_id))

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error


class InMemoryBlobStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, int]]] = {}
        self.puts = 0
        # Paths a signed link was made for, in order.
        self.signed: list[str] = []
        self._clock = clock

    def exists(self, path: str) -> Asset | None:
        stored = self.objects.get(path)
        if stored is None:
            return None
        data, content_type, meta = stored
        return Asset.stored(path, content_type, len(data), meta)

    def put(self, path: str, data: bytes, content_type: str, **meta: int) -> Asset:
        self.puts += 1
        self.objects[path] = (bytes(data), content_type, dict(meta))
        return Asset.stored(path, content_type, len(data), meta)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError("a prefix to delete must end with '/'")
        doomed = [path for path in self.objects if path.startswith(prefix)]
        for path in doomed:
            del self.objects[path]
        return len(doomed)

    def get(self, path: str) -> bytes:
        if path not in self.objects:
            raise NotFound(f"no object at {path}")
        return self.objects[path][0]

    def signed_url(self, path: str, expires_in: float) -> SignedUrl:
        expires_at = self._clock() + expires_in
        self.signed.append(path)
        return SignedUrl(url=f"memory://{path}?expires={expires_at:.0f}", expires_at=expires_at)
