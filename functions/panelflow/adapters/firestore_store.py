"""FirestoreJobStore: jobs and panels in Cloud Firestore (or its emulator).

The rules are the domain's (``panelflow.domain.leases``, ``panelflow.domain.finishing``,
``panelflow.domain.quotas``); this adapter applies them with compare-and-set writes. Its
parts live in ``panelflow.adapters.firestore``; docs/architecture.md shows the write pattern.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from panelflow import logs
from panelflow.adapters.firestore import queries
from panelflow.adapters.firestore.admission import JobAdmission
from panelflow.adapters.firestore.documents import (
    IDEMPOTENCY,
    INPUTS,
    LEASE_FIELDS,
    PANELS,
    TRANSIENT,
    USAGE,
    Contended,
    client_fields,
    compare_and_set,
    job_ref,
    lease_ref,
    panel_id,
    panel_ref,
    translate,
    with_lease,
)
from panelflow.adapters.firestore.grouping import Grouped
from panelflow.domain import leases
from panelflow.domain.costs import PaidCall
from panelflow.domain.errors import NotFound, PanelflowError, TransientError
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
from panelflow.domain.quotas import Quota, UsageCharge
from panelflow.domain.retention import EXPIRES_AT, story_expires_at, timestamp
from panelflow.ports import Claim, Closing

__all__ = ["FirestoreJobStore", "panel_id"]
# Under each job: one document per paid call (panelflow.domain.costs).
COSTS = "costs"
# Under each job: one document per export (panelflow.domain.exports).
EXPORTS = "exports"

_PLANNABLE = (JobStatus.QUEUED.value, JobStatus.PLANNING.value)


# What a lease document holds once no worker holds the panel (its attempts stay counted).
_LEASE_CLEARED: dict[str, Any] = {"owner": None, "expiresAt": None}


@functools.cache
def _claim_reads() -> ThreadPoolExecutor:
    """Threads for the reads that go out beside a claim's commit (one per panel in flight)."""
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="claim-read")


def _parse_version(planned: str | None) -> DatetimeWithNanoseconds | None:
    """The update time a plan's version names (save_plan), or None for none or a bad one:
    a claim then only takes the usual read first."""
    if not planned:
        return None
    parse: Callable[[str], DatetimeWithNanoseconds] = DatetimeWithNanoseconds.from_rfc3339
    try:
        return parse(planned)
    except ValueError:
        return None


def _claim_writes(
    job_id: str, index: int, owner: str, expires_at: float | None, attempts: int, now: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The lease document and the panel update that take a panel for ``owner``, as
    ``leases.claim`` decided (the panel then renders)."""
    lease = {
        "jobId": job_id,
        "index": index,
        "owner": owner,
        "expiresAt": expires_at,
        "attempts": attempts,
        "updatedAt": now,
    }
    update = {
        "status": PanelStatus.RENDERING.value,
        "startedAt": now,
        "updatedAt": now,
        # Panels written before leases moved out lose their worker fields here.
        **{field: firestore.DELETE_FIELD for field in LEASE_FIELDS},
    }
    return lease, update


@dataclass(frozen=True)
class _PlannedClaim:
    """One claim of a panel as its plan wrote it: the documents it reads (panel, lease,
    job, and the previous panel if any) and the lease it writes."""

    refs: tuple[Any, ...]
    owner: str
    lease_seconds: float
    version: Any
    now: float


@dataclass(frozen=True)
class _Record:
    """One panel recorded done on its claim's token, with its paid calls."""

    job_id: str
    index: int
    update: dict[str, Any]
    token: Any
    costs: tuple[PaidCall, ...]
    closing: Closing | None = None


def _closings(records: Sequence[_Record]) -> dict[str, tuple[Closing, dict[int, float]]]:
    """Per job of a group: the ``Closing`` to ask, and the panels recorded with their times."""
    closings: dict[str, tuple[Closing, dict[int, float]]] = {}
    for record in records:
        if record.closing is None:
            continue
        _, recorded = closings.setdefault(record.job_id, (record.closing, {}))
        recorded[record.index] = record.update["finishedAt"]
    return closings


class FirestoreJobStore:
    """Job and panel documents; see docs/architecture.md for the write pattern."""

    def __init__(
        self,
        project_id: str,
        client: firestore.Client | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        story_retention_days: int = 90,
    ) -> None:
        self._client = client or firestore.Client(project=project_id)
        self._clock = clock
        self._story_retention_days = story_retention_days
        self._admission = JobAdmission(self._client, clock, sleep, story_retention_days)
        # Job id -> its first panel's finishedAt, read by finished_counts for finalize_job.
        self._first_done: dict[str, float | None] = {}
        # Job id -> the job's snapshot as this store last read it for a step that writes the
        # job next (bounded): a claim's read, for the final move (no job write happens while
        # panels render), and the plan step's, for saving the plan. The write commits on it,
        # guarded by its update time, instead of reading the job again.
        self._seen_jobs: OrderedDict[str, Any] = OrderedDict()
        self._seen_lock = threading.Lock()
        # Claims taken without reading first (the plan's version held): for tests and probes.
        self.claims_as_planned = 0
        # The claims and records of panels arriving together go out as group commits.
        self.planned_claims: Grouped[_PlannedClaim, Claim | None] = Grouped(self._claim_group)
        self.records: Grouped[_Record, bool | None] = Grouped(self._record_group, largest=25)

    @property
    def client(self) -> firestore.Client:
        return self._client

    def _job_ref(self, job_id: str) -> firestore.DocumentReference:
        return job_ref(self._client, job_id)

    def _panel_ref(self, job_id: str, index: int) -> firestore.DocumentReference:
        return panel_ref(self._client, job_id, index)

    def _lease_ref(self, job_id: str, index: int) -> firestore.DocumentReference:
        return lease_ref(self._client, job_id, index)

    def _read_all(self, refs: Sequence[firestore.DocumentReference]) -> list[Any]:
        """Several documents in one round trip (BatchGetDocuments), in the order asked."""
        snapshots = {
            snapshot.reference.path: snapshot
            for snapshot in translate(lambda: list(self._client.get_all(list(refs))))
        }
        return [snapshots[ref.path] for ref in refs]

    def create_job(
        self,
        job: Job,
        story: str,
        idempotency: IdempotencyRecord | None = None,
        quota: Quota | None = None,
    ) -> Job:
        return self._admission.create_job(job, story, idempotency, quota)

    def charge_usage(self, owner_uid: str, job_id: str, panels: int, quota: Quota) -> None:
        self._admission.charge_usage(owner_uid, job_id, panels, quota)

    def delete_job(self, job_id: str, idempotency_key_id: str = "") -> None:
        # The job first: a worker that writes after this finds its job gone and cleans up.
        translate(self._job_ref(job_id).delete)
        # Then the panels, before the ledger is listed: a worker's record commit (which
        # writes its panel's ledger entries) either lands before this and is listed below,
        # or finds its panel gone, writes its entries on their own and cleans up itself.
        # Listed together, a record landing between the listing and the deletion left its
        # entries behind.
        panels = translate(lambda: list(self._job_ref(job_id).collection(PANELS).list_documents()))
        self._delete_all([*panels, *[self._lease_ref(job_id, int(panel.id)) for panel in panels]])
        refs = [
            *translate(lambda: list(self._job_ref(job_id).collection(COSTS).list_documents())),
            *translate(lambda: list(self._job_ref(job_id).collection(EXPORTS).list_documents())),
            self._client.collection(INPUTS).document(job_id),
        ]
        if idempotency_key_id:
            refs.append(self._client.collection(IDEMPOTENCY).document(idempotency_key_id))
        self._delete_all(refs)

    def delete_owner_records(self, owner_uid: str) -> None:
        refs = [self._client.collection(USAGE).document(owner_uid)]
        for collection in (IDEMPOTENCY, INPUTS):
            query = self._client.collection(collection).where(
                filter=FieldFilter("ownerUid", "==", owner_uid)
            )
            refs += [doc.reference for doc in translate(query.get)]
        self._delete_all(refs)

    def _delete_all(self, refs: Sequence[firestore.DocumentReference]) -> None:
        """Deletes in batches of at most 500 writes (Firestore's limit per commit)."""
        for start in range(0, len(refs), 500):
            batch = self._client.batch()
            for ref in refs[start : start + 500]:
                batch.delete(ref)
            translate(batch.commit)

    def get_job(self, job_id: str) -> Job | None:
        snapshot = translate(self._job_ref(job_id).get)
        return Job.from_dict(snapshot.to_dict()) if snapshot.exists else None

    def get_story(self, job_id: str) -> str:
        snapshot = translate(self._client.collection(INPUTS).document(job_id).get)
        if not snapshot.exists:
            raise NotFound(f"no story stored for job {job_id}")
        return str(snapshot.get("story"))

    def get_job_and_story(self, job_id: str) -> tuple[Job | None, str | None]:
        job, story = self._read_all(
            [self._job_ref(job_id), self._client.collection(INPUTS).document(job_id)]
        )
        # The plan step reads the job here and saves its plan a planner's call later: the
        # save's compare-and-set starts from this read (see _seen_job).
        self._remember_job(job)
        return (
            Job.from_dict(job.to_dict()) if job.exists else None,
            str(story.get("story")) if story.exists else None,
        )

    def get_panel(self, job_id: str, index: int) -> Panel | None:
        panel, lease = self._read_all(
            [self._panel_ref(job_id, index), self._lease_ref(job_id, index)]
        )
        if not panel.exists:
            return None
        return Panel.from_dict(with_lease(panel.to_dict() or {}, lease.to_dict()))

    def list_panels(self, job_id: str) -> list[Panel]:
        panels = queries.panel_documents(self._client, job_id)
        if not panels:
            return []
        leases_read = self._read_all([self._lease_ref(job_id, int(p["index"])) for p in panels])
        return [
            Panel.from_dict(with_lease(panel, lease.to_dict()))
            for panel, lease in zip(panels, leases_read, strict=True)
        ]

    def list_jobs(self, owner_uid: str, limit: int = 20) -> list[Job]:
        return queries.list_jobs(self._client, owner_uid, limit)

    def _guarded_job_write(
        self,
        job_id: str,
        decide: Callable[[dict[str, Any]], dict[str, Any] | None],
        extra: Callable[[firestore.WriteBatch], None] | None = None,
        seen: Any = None,
    ) -> Any:
        """Compare-and-set on the job document (see ``compare_and_set``, ``seen`` too): the
        commit's write result, or None if the job is missing or ``decide`` declined."""

        def on_snapshot(snapshot: Any) -> dict[str, Any] | None:
            return decide(snapshot.to_dict() or {}) if snapshot.exists else None

        ref = self._job_ref(job_id)
        try:
            return compare_and_set(self._client, ref, on_snapshot, extra, seen=seen)
        except Contended:
            raise TransientError(f"job {job_id} is changing too often; try again") from None

    def _write_job_in_status(
        self,
        job_id: str,
        allowed: Collection[str],
        update: dict[str, Any],
        extra: Callable[[firestore.WriteBatch], None] | None = None,
        seen: Any = None,
    ) -> Any:
        """Writes ``update`` (and ``extra``) only while the job's status is one of
        ``allowed``: the commit's write result, or None (``seen`` as for ``compare_and_set``)."""

        def decide(data: dict[str, Any]) -> dict[str, Any] | None:
            return update if data.get("status") in allowed else None

        return self._guarded_job_write(job_id, decide, extra, seen)

    def transition_job(
        self,
        job_id: str,
        expected: Sequence[JobStatus],
        new: JobStatus,
        *,
        charge: UsageCharge | None = None,
        **fields: object,
    ) -> bool:
        now = self._clock()
        update: dict[str, Any] = {"status": new.value, "updatedAt": now, **fields}
        if new.terminal:
            update["finishedAt"] = now
        allowed = {status.value for status in expected}
        charging = self._charging(job_id, charge)
        moved = self._write_job_in_status(job_id, allowed, update, charging) is not None
        if moved and new.terminal:
            self._story_kept_from(job_id, now)
        return moved

    def _story_kept_from(self, job_id: str, ended_at: float) -> None:
        """The story is kept for the retention after its job ends (see domain.retention)."""
        expires = timestamp(story_expires_at(ended_at, self._story_retention_days))
        try:
            self._client.collection(INPUTS).document(job_id).update({EXPIRES_AT: expires})
        except gexc.NotFound:
            pass  # deleted with its job meanwhile
        except TRANSIENT:
            pass  # the expiry written at the start still holds; the story is kept no longer

    def purge_expired(self, now: float, limit: int = 200) -> dict[str, int]:
        purged: dict[str, int] = {}
        for collection in (IDEMPOTENCY, INPUTS, USAGE):
            query = (
                self._client.collection(collection)
                .where(filter=FieldFilter(EXPIRES_AT, "<", timestamp(now)))
                .limit(limit)
            )
            refs = [doc.reference for doc in translate(query.get)]
            self._delete_all(refs)
            purged[collection] = len(refs)
        return purged

    def _charging(
        self,
        job_id: str,
        charge: UsageCharge | None,
        writes: Callable[[firestore.WriteBatch], None] | None = None,
    ) -> Callable[[firestore.WriteBatch], None] | None:
        """``writes`` plus the owner's usage update, guarded by the version read, so the job
        runs again and takes its slot in one commit (or neither happens)."""
        if charge is None:
            return writes

        def extra(batch: firestore.WriteBatch) -> None:
            if writes is not None:
                writes(batch)
            self._admission.add_charge(batch, charge.owner_uid, job_id, charge.panels, charge.quota)

        return extra

    def save_plan(
        self,
        job_id: str,
        plan: StoryPlan,
        characters: Sequence[Character],
        plan_ms: int,
        images: Mapping[int, Asset] | None = None,
        costs: Sequence[PaidCall] = (),
    ) -> str | None:
        now = self._clock()

        update = {
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
                panel.image = (images or {}).get(panel_plan.index)
                data = client_fields(panel.to_dict()) | {"createdAt": now, "updatedAt": now}
                batch.set(self._panel_ref(job_id, panel_plan.index), data)
            # The planning's paid calls ride in the same commit: on the emulator a ledger
            # commit alongside took the save from ~26 to ~41 ms.
            self._add_costs(batch, job_id, costs)

        seen = self._seen_job(job_id)
        result = self._write_job_in_status(job_id, _PLANNABLE, update, panels, seen)
        # One commit wrote the job and every panel: its time is each panel's update time,
        # the version the panel messages carry (see claim_panel).
        return result.update_time.rfc3339() if result is not None else None

    def claim_panel(
        self,
        job_id: str,
        index: int,
        owner: str,
        lease_seconds: float,
        planned: str | None = None,
    ) -> Claim:
        # Compare-and-set on the panel and its lease document, not a transaction: a panel
        # is only ever contended by duplicate deliveries of its own message. The one read
        # also fetches the job and the previous panel, which the worker needs next.
        refs = [self._panel_ref(job_id, index), self._lease_ref(job_id, index)]
        refs.append(self._job_ref(job_id))
        if index:
            refs.append(self._panel_ref(job_id, index - 1))
        version = _parse_version(planned)
        if version is not None:
            claim = self._claim_as_planned(refs, owner, lease_seconds, version)
            if claim is not None:
                return claim
        for _ in range(5):
            panel_snap, lease_snap, job_snap, *previous_snap = self._read_all(refs)
            if not panel_snap.exists:
                raise NotFound(f"panel {index} of job {job_id} does not exist")
            job, previous = self._claim_context(job_snap, *previous_snap)
            stored = Panel.from_dict(with_lease(panel_snap.to_dict() or {}, lease_snap.to_dict()))
            now = self._clock()
            claim = replace(
                leases.claim(stored, owner, lease_seconds, now), job=job, previous=previous
            )
            if not claim.acquired:
                return claim
            batch = self._client.batch()
            taken = claim.panel
            lease, update = _claim_writes(
                job_id, index, owner, taken.lease_expires_at, taken.attempts, now
            )
            if lease_snap.exists:
                option = self._client.write_option(last_update_time=lease_snap.update_time)
                batch.update(lease_snap.reference, lease, option=option)
            else:
                batch.create(lease_snap.reference, lease)
            option = self._client.write_option(last_update_time=panel_snap.update_time)
            batch.update(panel_snap.reference, update, option=option)
            try:
                result = batch.commit()[-1]
            except (gexc.FailedPrecondition, gexc.AlreadyExists):
                time.sleep(random.uniform(0.002, 0.02))
                continue
            except TRANSIENT as error:
                raise TransientError(f"could not claim panel {index}") from error
            return replace(claim, token=result.update_time)
        raise TransientError(f"panel {index} is changing too often to claim")

    def _claim_as_planned(
        self,
        refs: Sequence[firestore.DocumentReference],
        owner: str,
        lease_seconds: float,
        version: Any,
    ) -> Claim | None:
        """Takes a never-claimed panel without reading first: the commit, guarded by the
        panel's update time as the plan wrote it (``version``) and by its lease document not
        existing yet, goes out at the same time as the usual read, which still brings the
        job and the previous panel. One round trip on the panel's path instead of two, and
        the panels of a job arriving together share it (``Grouped``).

        Returns:
            The claim, or None when a panel of its group changed since the plan (claimed by
            a duplicate delivery, finished, requeued): the caller then claims as usual.
        """
        request = _PlannedClaim(tuple(refs), owner, lease_seconds, version, self._clock())
        return self.planned_claims(request)

    def _claim_group(self, requests: Sequence[_PlannedClaim]) -> list[Claim | None]:
        """One commit for every claim of the group and one read of all they need, sent at
        the same time; None for each if the commit was refused."""
        answers: list[Claim | None] = [None] * len(requests)
        batch = self._client.batch()
        members: list[int] = []
        reads: dict[str, Any] = {}
        for position, request in enumerate(requests):
            panel_ref, lease_ref = request.refs[0], request.refs[1]
            if any(requests[other].refs[0].path == panel_ref.path for other in members):
                continue  # a duplicate delivery in the same group claims as usual
            members.append(position)
            # Exactly what leases.claim makes of a pending panel with no lease: attempt 1.
            lease, update = _claim_writes(
                panel_ref.parent.parent.id,
                int(panel_ref.id),
                request.owner,
                request.now + request.lease_seconds,
                1,
                request.now,
            )
            batch.create(lease_ref, lease)
            option = self._client.write_option(last_update_time=request.version)
            batch.update(panel_ref, update, option=option)
            # The lease is not read: the commit's create says it did not exist.
            for ref in (request.refs[0], *request.refs[2:]):
                reads[ref.path] = ref
        reading = _claim_reads().submit(self._read_all, list(reads.values()))
        try:
            results = batch.commit()
        except (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.NotFound):
            reading.exception()  # wait for it; its snapshots may predate the change
            return answers
        except TRANSIENT as error:
            reading.exception()
            raise TransientError("could not claim the panels") from error
        try:
            snapshots = reading.result()
        except TransientError:
            # The leases are ours: read once more before giving the deliveries back (their
            # leases would then stand until they expire and the sweeper frees them).
            snapshots = self._read_all(list(reads.values()))
        read = {snapshot.reference.path: snapshot for snapshot in snapshots}
        for number, position in enumerate(members):
            request = requests[position]
            panel_snap, job_snap = read[request.refs[0].path], read[request.refs[2].path]
            # The read went out with the commit and may have seen the panel before it or
            # after it; either way its planned fields are the plan's.
            as_planned = (panel_snap.to_dict() or {}) | {"status": PanelStatus.PENDING.value}
            stored = Panel.from_dict(with_lease(as_planned, None))
            claim = leases.claim(stored, request.owner, request.lease_seconds, request.now)
            job, previous = self._claim_context(
                job_snap, *(read[ref.path] for ref in request.refs[3:])
            )
            token = results[2 * number + 1].update_time
            answers[position] = replace(claim, token=token, job=job, previous=previous)
        with self._seen_lock:
            self.claims_as_planned += len(members)
        return answers

    def _claim_context(
        self, job_snap: Any, previous_snap: Any = None
    ) -> tuple[Job | None, Panel | None]:
        """The job and the previous panel (its client fields) a claim read, from their
        snapshots; the job's snapshot is remembered for the job's next write."""
        self._remember_job(job_snap)
        job = Job.from_dict(job_snap.to_dict()) if job_snap.exists else None
        previous = None
        if previous_snap is not None and previous_snap.exists:
            previous = Panel.from_dict(with_lease(previous_snap.to_dict() or {}, None))
        return job, previous

    def _update_if_owned(
        self, job_id: str, index: int, owner: str | None, update: dict[str, Any]
    ) -> bool:
        """Writes ``update`` (and clears the lease) if the lease rules let ``owner`` change
        the panel as read; compare-and-set on both documents."""
        refs = [self._panel_ref(job_id, index), self._lease_ref(job_id, index)]
        for _ in range(3):
            panel_snap, lease_snap = self._read_all(refs)
            if not panel_snap.exists:
                return False
            status = PanelStatus((panel_snap.to_dict() or {})["status"])
            holder = (lease_snap.to_dict() or {}).get("owner") if lease_snap.exists else None
            if not leases.may_change(status, holder, owner):
                return False
            batch = self._client.batch()
            if lease_snap.exists:
                option = self._client.write_option(last_update_time=lease_snap.update_time)
                batch.update(
                    lease_snap.reference,
                    _LEASE_CLEARED | {"updatedAt": update["updatedAt"]},
                    option=option,
                )
            option = self._client.write_option(last_update_time=panel_snap.update_time)
            batch.update(panel_snap.reference, update, option=option)
            try:
                translate(batch.commit)
                return True
            except (gexc.FailedPrecondition, gexc.AlreadyExists):
                time.sleep(random.uniform(0.002, 0.02))
        return False

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
        now = self._clock()
        update = {
            "status": PanelStatus.DONE.value,
            "image": assets.image.to_dict(),
            "audio": assets.audio.to_dict() if assets.audio else None,
            "notes": [dict(note) for note in assets.notes],
            "error": None,
            "finishedAt": now,
            "updatedAt": now,
        }
        if token is not None:
            # The panel unchanged since our claim means we still hold the lease (every claim
            # writes the panel and its lease together): one commit, no read, shared with
            # the panels recorded at the same moment (``Grouped``). The panel's ledger
            # entries ride in the same commit: one write, not two.
            record = _Record(job_id, index, update, token, tuple(costs), closing)
            try:
                recorded = self.records(record)
                if recorded is None:
                    # A panel of the group changed since its claim: this one on its own.
                    recorded = self._record_group([record])[0]
                if recorded:
                    return True
            except TransientError:
                self._record_costs_logged(job_id, costs)
                raise
        self._record_costs_logged(job_id, costs)
        return self._update_if_owned(job_id, index, owner, update)

    def _record_group(self, records: Sequence[_Record], close: bool = True) -> list[bool | None]:
        """One commit recording every panel of the group: True for each, or, if a panel
        changed since its claim, None for each of a group (False for a lone record).

        With ``close``, a job whose last panels these are (``Closing``) ends in the same
        commit; if that commit is refused, the panels go again without it."""
        batch = self._client.batch()
        for record in records:
            lease = _LEASE_CLEARED | {"updatedAt": record.update["updatedAt"]}
            batch.update(self._lease_ref(record.job_id, record.index), lease)
            option = self._client.write_option(last_update_time=record.token)
            batch.update(self._panel_ref(record.job_id, record.index), record.update, option=option)
            self._add_costs(batch, record.job_id, record.costs)
        closings = _closings(records)
        moves = self._final_moves(batch, closings) if close else []
        try:
            batch.commit()
        except (gexc.FailedPrecondition, gexc.NotFound):
            if moves:
                # The job changed since it was read (or a panel did): the panels alone.
                return self._record_group(records, close=False)
            # Someone else wrote a panel meanwhile: alone, it decides on a fresh read.
            return [None if len(records) > 1 else False] * len(records)
        except TRANSIENT as error:
            raise TransientError("could not record the panels") from error
        # Told before the next group is formed, so its question counts these panels.
        for closing, recorded in closings.values():
            closing.recorded(recorded)
        for job_id, closing, status, now in moves:
            self._first_done.pop(job_id, None)
            closing.closed(status)
            self._story_kept_from(job_id, now)
        return [True] * len(records)

    def _final_moves(
        self, batch: Any, closings: Mapping[str, tuple[Closing, dict[int, float]]]
    ) -> list[tuple[str, Closing, JobStatus, float]]:
        """Adds to ``batch`` the final move of each job whose last panels these are
        (``Closing``), on the job as its claim read it (guarded by that read's update time)."""
        moves = []
        for job_id, (closing, recorded) in closings.items():
            known = closing.outcome(recorded)
            seen = self._seen_job(job_id) if known is not None else None
            if known is None or seen is None:
                continue
            done, failed, first_done = known
            now = self._clock()
            move = final_move(Job.from_dict(seen.to_dict() or {}), done, failed, now, first_done)
            if move is None:
                continue
            option = self._client.write_option(last_update_time=seen.update_time)
            batch.update(seen.reference, move.fields(), option=option)
            moves.append((job_id, closing, move.status, now))
        return moves

    def _add_costs(self, batch: Any, job_id: str, calls: Sequence[PaidCall]) -> None:
        for call in calls:
            batch.set(
                self._job_ref(job_id).collection(COSTS).document(call.call_id), call.to_dict()
            )

    def _record_costs_logged(self, job_id: str, calls: Sequence[PaidCall]) -> None:
        try:
            self.record_costs(job_id, calls)
        except PanelflowError as error:
            logs.warning("could not record paid calls", jobId=job_id, code=error.code)

    def fail_panel(
        self, job_id: str, index: int, error: dict[str, str], owner: str | None = None
    ) -> bool:
        now = self._clock()
        update = {
            "status": PanelStatus.FAILED.value,
            "error": error,
            "finishedAt": now,
            "updatedAt": now,
        }
        return self._update_if_owned(job_id, index, owner, update)

    def release_panel(self, job_id: str, index: int, owner: str | None) -> bool:
        update = {"status": PanelStatus.PENDING.value, "updatedAt": self._clock()}
        return self._update_if_owned(job_id, index, owner, update)

    def requeue_panels(
        self,
        job_id: str,
        indexes: Sequence[int],
        expected: Sequence[JobStatus],
        regenerate: bool = False,
        charge: UsageCharge | None = None,
    ) -> bool:
        now = self._clock()
        job_update = {
            "status": JobStatus.RENDERING.value,
            "finishedAt": None,
            "error": None,
            "updatedAt": now,
            "generation": firestore.Increment(1),
        }

        def panels(batch: firestore.WriteBatch) -> None:
            for index in indexes:
                update: dict[str, Any] = {
                    "status": PanelStatus.PENDING.value,
                    "error": None,
                    "updatedAt": now,
                }
                if regenerate:
                    update["generation"] = firestore.Increment(1)
                batch.update(self._panel_ref(job_id, index), update)
                # merge: a panel never claimed has no lease document yet.
                lease = {"jobId": job_id, "index": index, **_LEASE_CLEARED, "updatedAt": now}
                batch.set(self._lease_ref(job_id, index), lease, merge=True)

        allowed = {status.value for status in expected}
        extra = self._charging(job_id, charge, panels)
        return self._write_job_in_status(job_id, allowed, job_update, extra) is not None

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
        now = self._clock()
        job_update: dict[str, Any] = {"generation": firestore.Increment(1), "updatedAt": now}
        panel_update: dict[str, Any] = {**fields, "updatedAt": now}
        if requeue:
            job_update.update(status=JobStatus.RENDERING.value, finishedAt=None, error=None)
            panel_update.update(status=PanelStatus.PENDING.value, error=None)

        def panel(batch: firestore.WriteBatch) -> None:
            batch.update(self._panel_ref(job_id, index), panel_update)
            if requeue:
                # As requeue_panels: the lease lives beside the panel, cleared for a new claim.
                lease = {"jobId": job_id, "index": index, **_LEASE_CLEARED, "updatedAt": now}
                batch.set(self._lease_ref(job_id, index), lease, merge=True)

        allowed = {status.value for status in expected}
        extra = self._charging(job_id, charge if requeue else None, panel)
        return self._write_job_in_status(job_id, allowed, job_update, extra) is not None

    def expired_leases(self, now: float, limit: int = 100) -> list[Panel]:
        return queries.expired_leases(self._client, now, limit)

    def stale_jobs(
        self, statuses: Sequence[JobStatus], updated_before: float, limit: int = 100
    ) -> list[Job]:
        return queries.stale_jobs(self._client, statuses, updated_before, limit)

    def finished_counts(self, job_id: str, panel_count: int) -> tuple[int, int] | None:
        finished = queries.finished_panels(self._client, job_id, panel_count)
        if finished is None:
            return None
        done, failed, first_done = finished
        # finalize_job, which follows, takes the first panel's time from the same read.
        self._first_done[job_id] = first_done
        return done, failed

    def finalize_job(
        self, job_id: str, done: int, failed: int, first_done_at: float | None = None
    ) -> JobStatus | None:
        now = self._clock()
        if first_done_at is not None:
            first_done: float | None = first_done_at
            self._first_done.pop(job_id, None)
        elif job_id in self._first_done:
            first_done = self._first_done.pop(job_id)
        else:
            first_done = queries.first_done_at(self._client, job_id)
        moved: JobStatus | None = None

        def decide(data: dict[str, Any]) -> dict[str, Any] | None:
            nonlocal moved
            move = final_move(Job.from_dict(data), done, failed, now, first_done)
            moved = move.status if move is not None else None
            return move.fields() if move is not None else None

        seen = self._seen_job(job_id)
        if self._guarded_job_write(job_id, decide, seen=seen) is None:
            return None
        self._story_kept_from(job_id, now)
        return moved

    def _remember_job(self, snapshot: Any) -> None:
        """Keeps the job ``snapshot`` a claim or the plan step read (if the job exists) for
        the job's next write (``_seen_job``)."""
        if not snapshot.exists:
            return
        with self._seen_lock:
            self._seen_jobs[snapshot.reference.id] = snapshot
            self._seen_jobs.move_to_end(snapshot.reference.id)
            while len(self._seen_jobs) > 256:
                self._seen_jobs.popitem(last=False)

    def _seen_job(self, job_id: str) -> Any:
        """The job's snapshot remembered by ``_remember_job`` (None: none), taken: a write
        commits on it once."""
        with self._seen_lock:
            return self._seen_jobs.pop(job_id, None)

    # ---- cost ledger: jobs/{jobId}/costs/{callId}, one document per paid call ----------

    def record_costs(self, job_id: str, calls: Sequence[PaidCall]) -> None:
        if not calls:
            return
        batch = self._client.batch()
        self._add_costs(batch, job_id, calls)
        translate(batch.commit)

    def list_costs(self, job_id: str) -> list[PaidCall]:
        query = self._job_ref(job_id).collection(COSTS).order_by("at")
        return [PaidCall.from_dict(doc.to_dict()) for doc in translate(query.get)]

    def _export_ref(self, job_id: str, export_id: str) -> firestore.DocumentReference:
        ref: firestore.DocumentReference = (
            self._job_ref(job_id).collection(EXPORTS).document(export_id)
        )
        return ref

    def create_export(self, export: Export) -> tuple[Export, bool]:
        ref = self._export_ref(export.job_id, export.export_id)
        try:
            translate(lambda: ref.create(export.to_dict()))
        except gexc.AlreadyExists:
            stored = self.get_export(export.job_id, export.export_id)
            if stored is not None:
                return stored, False
            return self.create_export(export)  # deleted in between: create it after all
        return export, True

    def get_export(self, job_id: str, export_id: str) -> Export | None:
        snapshot = translate(self._export_ref(job_id, export_id).get)
        return Export.from_dict(snapshot.to_dict()) if snapshot.exists else None

    def save_export(self, export: Export, expected: Sequence[ExportStatus]) -> bool:
        allowed = {status.value for status in expected}

        def decide(snapshot: Any) -> dict[str, Any] | None:
            if not snapshot.exists or (snapshot.to_dict() or {}).get("status") not in allowed:
                return None
            return export.to_dict()

        ref = self._export_ref(export.job_id, export.export_id)
        try:
            return compare_and_set(self._client, ref, decide) is not None
        except Contended:
            raise TransientError("the export is being changed, try again") from None
