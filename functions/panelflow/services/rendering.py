"""The panel step: claim, draw and speak concurrently, store, record, maybe finish the job."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

from panelflow import logs
from panelflow.domain import assets
from panelflow.domain.costs import PaidCall
from panelflow.domain.errors import JobCancelled, NotFound, PanelflowError, VoiceUnavailable
from panelflow.domain.models import (
    Asset,
    Character,
    Job,
    JobStatus,
    Panel,
    PanelAssets,
    PanelRequest,
    SpeechLine,
    TimedLine,
)
from panelflow.ports import (
    Claim,
    FinishingDependencies,
    RenderingDependencies,
    StoreDependencies,
)
from panelflow.services import metering
from panelflow.services.deletion import forget_if_deleted
from panelflow.services.metering import metered


def render_panel(
    services: RenderingDependencies, job_id: str, index: int, planned: str | None = None
) -> None:
    """Renders one panel; safe under duplicate and late deliveries.

    ``planned``: the plan's version from the message, if any (see ``JobStore.claim_panel``).

    Raises:
        TransientError: the lease is held elsewhere or a dependency is down; redeliver later.
        Exception: anything unexpected, so the message is retried and finally dead-lettered.
    """
    store = services.store
    started = time.monotonic()
    # One owner per delivery, not per instance: two copies of a message handled by threads
    # of one instance must not both hold the lease (and both pay).
    owner = f"{services.worker_id}/{uuid.uuid4().hex[:8]}"
    # One read gives the panel, its lease, its job and the panel before it (for the image's
    # continuity); one commit takes the lease (at the same time as the read, for a panel
    # as its plan wrote it).
    try:
        claim = store.claim_panel(job_id, index, owner, services.settings.lease_seconds, planned)
    except NotFound:
        if store.get_job(job_id) is None:
            logs.warning("panel message for a job that does not exist", jobId=job_id)
            return
        raise
    claimed = time.monotonic()
    job = claim.job
    if job is None or job.status != JobStatus.RENDERING:
        if claim.acquired:
            store.release_panel(job_id, index, owner)
        return
    if not claim.acquired:
        # Finished already (a duplicate delivery): the job may still need its final move.
        finish_job_if_done(services, job)
        return
    _DRAWING.enter(job_id)
    try:
        if not _draw_and_record(services, job, claim, owner, (started, claimed)):
            return
    finally:
        last_here = _DRAWING.leave(job_id)
    if last_here and not _DRAWING.take_closed(job):
        finish_job_if_done(services, job, _DRAWING.outcome(job))


class Finished(NamedTuple):
    """How every panel of a job ended: counts, and when its first panel was done."""

    done: int
    failed: int
    first_done_at: float | None


class _Drawing:
    """How many panels of each job this process is drawing, and how those it finished ended.

    A panel recorded while a sibling is still being drawn here skips "finished yet?": the
    sibling leaves after it and asks after its own record, so its query sees this panel's
    commit. The last to leave asks (a sibling that raises instead leaves its panel
    unfinished, so the job is not finished either: its redelivery asks). A worker drawing a
    whole job makes one query for it instead of one per panel; panels drawn by other
    instances ask on their own, as before.

    It also remembers how each panel it finished ended (done, and when, or failed), per job
    and generation. When every panel of the job's generation was finished here, the last to
    leave knows the job is finished, its counts and when its first panel was done: the final
    move then needs no query at all. A finished panel stays finished within a generation
    (retrying or editing panels starts a new one), so what is remembered cannot go stale; a
    panel finished elsewhere leaves it short, and the query is asked as before.

    The store asks it too (``_Closing``, ``ports.Closing``) before it commits a group of
    records: when those records finish the generation, the final move rides in the same
    commit, and the job is marked closed here until the last of its panels leaves (which
    then has nothing to do).
    """

    def __init__(self, remembered: int = 256) -> None:
        self._lock = threading.Lock()
        self._count: dict[str, int] = {}
        self._remembered = remembered
        # Per job and generation: how each panel finished here ended; None once the job's
        # final move went out with its last panels (``close``).
        self._ended: OrderedDict[tuple[str, int], dict[int, float | None] | None] = OrderedDict()

    def enter(self, job_id: str) -> None:
        with self._lock:
            self._count[job_id] = self._count.get(job_id, 0) + 1

    def leave(self, job_id: str) -> bool:
        """True when no other panel of the job is being drawn here."""
        with self._lock:
            left = self._count[job_id] - 1
            if left:
                self._count[job_id] = left
                return False
            del self._count[job_id]
            return True

    def finished(self, job: Job, index: int, done_at: float | None) -> None:
        """Panel ``index`` of ``job`` was finished here: done at ``done_at``, or failed."""
        self.remember(job, {index: done_at}, keep=True)

    def remember(self, job: Job, ended: Mapping[int, float | None], keep: bool = False) -> None:
        """Panels of ``job`` finished here (index → when done, None: failed). ``keep``: a
        panel already known keeps its time (the store's, told first, is the one written)."""
        key = (job.job_id, job.generation)
        with self._lock:
            known = self._ended.setdefault(key, {})
            if known is None:
                return  # closed: its final move went out already
            for index, at in ended.items():
                if not keep or index not in known:
                    known[index] = at
            self._kept(key)

    def _kept(self, key: tuple[str, int]) -> None:
        """``key`` is the newest; the oldest beyond ``remembered`` are forgotten (lock held)."""
        self._ended.move_to_end(key)
        while len(self._ended) > self._remembered:
            self._ended.popitem(last=False)

    def outcome(self, job: Job, also: Mapping[int, float] | None = None) -> Finished | None:
        """How the job ended, when every panel of its generation was finished here (then
        forgotten: the final move is made once); None otherwise.

        ``also``: panels about to be recorded done (index → when), counted with the rest
        and nothing forgotten: the store asks before the commit that would end the job."""
        key = (job.job_id, job.generation)
        with self._lock:
            ended = dict(self._ended.get(key) or {})
            if also is not None:
                ended.update(also)
            if not set(range(job.panel_count)) <= ended.keys():
                return None
            if also is None:
                self._ended.pop(key, None)
        done_at = [at for at in ended.values() if at is not None]
        return Finished(len(done_at), len(ended) - len(done_at), min(done_at, default=None))

    def close(self, job: Job) -> None:
        """The job's final move went out with its last panels: nothing more to do for it."""
        key = (job.job_id, job.generation)
        with self._lock:
            self._ended[key] = None
            self._kept(key)

    def take_closed(self, job: Job) -> bool:
        """Whether the job's final move went out with its last panels here; asked by the
        last panel of the job to leave, and then forgotten (a panel of the same generation
        drawn again later starts from nothing and finishes the job the usual way)."""
        key = (job.job_id, job.generation)
        with self._lock:
            if key not in self._ended or self._ended[key] is not None:
                return False
            del self._ended[key]
            return True


class _Closing:
    """``ports.Closing`` for one panel's record: answered from what this process finished."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.known: Finished | None = None
        self.status: JobStatus | None = None

    def outcome(self, recorded: Mapping[int, float]) -> Finished | None:
        self.known = _DRAWING.outcome(self.job, also=recorded)
        return self.known

    def recorded(self, panels: Mapping[int, float]) -> None:
        _DRAWING.remember(self.job, panels)

    def closed(self, status: JobStatus) -> None:
        self.status = status
        _DRAWING.close(self.job)


_DRAWING = _Drawing()


def _draw_and_record(
    services: RenderingDependencies,
    job: Job,
    claim: Claim,
    owner: str,
    times: tuple[float, float],
) -> bool:
    """Produces and records the claimed panel (or fails or releases it); False when the
    job is gone or cancelled, so it needs no final move."""
    store, panel = services.store, claim.panel
    job_id, index = panel.job_id, panel.index
    log_fields = {"jobId": job_id, "panelIndex": index, "attempt": claim.attempt}
    read = JobRead(times[1])
    try:
        image, (audio, notes) = _produce(services, job, claim, read)
    except JobCancelled:
        metering.record(services, job_id, read.ledger)
        store.release_panel(job_id, index, owner)
        logs.info("panel stopped: the job was cancelled", **log_fields)
        forget_if_deleted(store, services.blobs, job_id)
        return False
    except PanelflowError as error:
        metering.record(services, job_id, read.ledger)
        if _retry_or_fail(services, panel, owner, error, log_fields):
            _DRAWING.finished(job, index, None)
    except Exception:
        metering.record(services, job_id, read.ledger)
        store.release_panel(job_id, index, owner)
        raise
    else:
        produced = PanelAssets(image, audio, notes)
        # The panel's ledger entries are written in the commit that records it, and so is
        # the job's final move when this process finished every other panel (``_Closing``).
        done_at = time.time()
        closing = _Closing(job)
        stored = _store_done(
            services, claim, owner, (produced, read.ledger, closing), times, log_fields
        )
        if stored:
            _DRAWING.finished(job, index, done_at)
        if closing.status is not None and closing.known is not None:
            done, failed, _ = closing.known
            _job_finished(services, job_id, closing.status, done, failed)
        # Not stored: another delivery finished it, or the job was deleted meanwhile; then
        # what this delivery wrote (its ledger entries included, written by now) goes too.
        if not stored and forget_if_deleted(store, services.blobs, job_id):
            return False
    return True


def _retry_or_fail(
    services: RenderingDependencies,
    panel: Panel,
    owner: str,
    error: PanelflowError,
    log_fields: dict[str, object],
) -> bool:
    """A retryable error gives the panel back and is raised again (the message is
    redelivered); any other fails the panel with its reason: True when this call did."""
    store = services.store
    if error.retryable:
        store.release_panel(panel.job_id, panel.index, owner)
        # retryAfter: the least wait the provider asked for (google.rpc.RetryInfo), which
        # the subscription's retry policy should cover.
        retry_after = getattr(error, "retry_after", None)
        logs.warning("panel will be retried", code=error.code, retryAfter=retry_after, **log_fields)
        raise error
    failed = store.fail_panel(panel.job_id, panel.index, error.to_dict(), owner)
    if not failed:
        forget_if_deleted(store, services.blobs, panel.job_id)
    logs.warning("panel failed", code=error.code, **log_fields)
    return failed


def _store_done(
    services: RenderingDependencies,
    claim: Claim,
    owner: str,
    produced_work: tuple[PanelAssets, list[PaidCall], _Closing],
    times: tuple[float, float],
    log_fields: dict[str, object],
) -> bool:
    """Marks the claimed panel done, its paid calls with it; False when this delivery no
    longer held it (its paid calls are recorded all the same)."""
    store, panel = services.store, claim.panel
    produced_assets, costs, closing = produced_work
    started, claimed = times
    produced = time.monotonic()
    if not store.complete_panel(
        panel.job_id, panel.index, owner, produced_assets, claim.token, costs, closing
    ):
        return False
    logs.info(
        "panel done",
        claimMs=int((claimed - started) * 1000),
        produceMs=int((produced - claimed) * 1000),
        recordMs=int((time.monotonic() - produced) * 1000),
        **log_fields,
    )
    return True


def finish_job_if_done(
    services: FinishingDependencies, job: Job, known: Finished | None = None
) -> JobStatus | None:
    """Moves the job to its final state if every panel is finished; exactly once overall.

    ``known``: how every panel ended, when this process finished them all (``_Drawing``):
    then the panels are not queried. The one call that makes the move also tells the
    notifier (the ``notify`` topic); a failure to tell it is logged and never undoes or
    delays the move.
    """
    first_done_at = None
    if known is None:
        counts = services.store.finished_counts(job.job_id, job.panel_count)
        if counts is None:
            return None
        done, failed = counts
    else:
        done, failed, first_done_at = known
    final = services.store.finalize_job(job.job_id, done, failed, first_done_at)
    if final is not None:
        _job_finished(services, job.job_id, final, done, failed)
    return final


def _job_finished(
    services: FinishingDependencies, job_id: str, status: JobStatus, done: int, failed: int
) -> None:
    """Said once by the call whose write made the job's final move: logged and announced."""
    logs.info("job finished", jobId=job_id, status=status.value, done=done, failed=failed)
    announce_finished(services, job_id)


def announce_finished(services: FinishingDependencies, job_id: str) -> None:
    """Publishes the job's one "finished" message; a publishing failure is only logged."""
    try:
        services.queue.publish_finished(job_id)
    except Exception as error:  # the job is finished whatever happens to its notification
        logs.warning("could not announce the finished job", jobId=job_id, error=str(error))


Notes = tuple[dict[str, str], ...]


def _produce(
    services: RenderingDependencies, job: Job, claim: Claim, read: JobRead
) -> tuple[Asset, tuple[Asset | None, Notes]]:
    """Image and audio at the same time: the slower one sets the panel's time."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="panel") as pool:
        image = pool.submit(_image, services, job, claim.panel, claim.previous, read)
        audio = pool.submit(_audio, services, job, claim.panel, read)
        return image.result(), audio.result()


# How long (seconds) the claim's read of the job stands in for the cancel check.
FRESH_CHECK_S = 0.5


class JobRead:
    """The claim's read of the job as rendering, shared by the panel's paid calls, and the
    calls' ledger entries waiting to be written.

    The read serves as their cancel check while it is fresh (``FRESH_CHECK_S``) and no paid
    call of the panel has ended yet: image and speech start together right after the claim,
    so neither reads the job again; a call that starts after another one ended reads it.
    The ledger entries are written once the panel's calls are over, in the commit that
    records the panel, instead of one commit after each call.
    """

    def __init__(self, at: float) -> None:
        self.at = at
        self.valid = True
        self.ledger: list[PaidCall] = []

    def fresh(self) -> bool:
        return self.valid and time.monotonic() - self.at < FRESH_CHECK_S


def ensure_active(services: StoreDependencies, job_id: str, read: JobRead | None = None) -> None:
    """Checked right before every paid call, so a cancel stops spending within one call.

    ``read``: the claim's read of the job, which is the check while it is fresh.
    """
    if read is not None and read.fresh():
        return
    job = services.store.get_job(job_id)
    if job is None or job.status not in (JobStatus.RENDERING, JobStatus.QUEUED):
        raise JobCancelled(f"job {job_id} is no longer running")


def _image(
    services: RenderingDependencies,
    job: Job,
    panel: Panel,
    previous: Panel | None,
    read: JobRead | None = None,
) -> Asset:
    plan = panel.plan()
    characters = assets.panel_characters(job, panel)
    path = assets.panel_image_path(job, panel, plan, characters, services.image_engine)
    stored = _current(panel.image, path) or _stored(services, panel, path)
    if stored is not None:
        return stored
    references = _references(services, characters)
    units = {"images": 1}
    with _paid_call(services, job, panel, "image", services.settings.images, units, read):
        image = services.images.panel(
            PanelRequest(
                panel=plan,
                style=job.art_style,
                characters=characters,
                references=references,
                previous=previous.plan() if previous else None,
            )
        )
    return services.blobs.put(
        path, image.data, image.content_type, width=image.width, height=image.height
    )


def _audio(
    services: RenderingDependencies, job: Job, panel: Panel, read: JobRead | None = None
) -> tuple[Asset | None, Notes]:
    """The panel's audio with its lines' times, or none and a note when the voice cannot
    speak the job's language (the reader shows the note; the text is still there)."""
    try:
        return _speech(services, job, panel, read), ()
    except VoiceUnavailable as error:
        logs.info("panel has no voice", jobId=job.job_id, panelIndex=panel.index)
        return None, ({"code": error.code, "message": str(error)},)


def _speech(
    services: RenderingDependencies, job: Job, panel: Panel, read: JobRead | None = None
) -> Asset | None:
    voices = {character.name: character.voice for character in job.characters}
    lines = (
        [SpeechLine(text=panel.narration or panel.caption)]
        if (panel.narration or panel.caption)
        else []
    )
    lines += [
        SpeechLine(text=line.text, speaker=line.speaker, voice=voices.get(line.speaker, ""))
        for line in panel.dialogue
        if line.text.strip()
    ]
    if not lines:
        return None
    path = assets.panel_audio_path(job, panel, lines, services.voice_engine)
    timings_path = f"{path}.lines.json"
    current = _current(panel.audio, path)
    if current is not None:
        return current  # with its read-along times, as stored on the panel
    stored = _stored(services, panel, path)
    if stored is not None:
        return dataclasses.replace(stored, lines=_stored_lines(services, timings_path))
    characters = {"characters": sum(len(line.text) for line in lines)}
    with _paid_call(services, job, panel, "speech", services.settings.voice, characters, read):
        audio = services.voice.synthesize(lines, language=job.language)
    # The times first: audio found stored by a later attempt then always has them beside it.
    timings = json.dumps([line.to_dict() for line in audio.lines], ensure_ascii=False)
    services.blobs.put(timings_path, timings.encode("utf-8"), "application/json")
    asset = services.blobs.put(path, audio.data, audio.content_type, durationMs=audio.duration_ms)
    return dataclasses.replace(asset, lines=audio.lines)


def _stored_lines(services: RenderingDependencies, path: str) -> tuple[TimedLine, ...]:
    try:
        return tuple(TimedLine.from_dict(line) for line in json.loads(services.blobs.get(path)))
    except (NotFound, ValueError):
        return ()


@contextlib.contextmanager
def _paid_call(
    services: RenderingDependencies,
    job: Job,
    panel: Panel,
    kind: str,
    provider: str,
    units: Mapping[str, int],
    read: JobRead | None = None,
) -> Iterator[None]:
    """One paid provider call for ``panel``: made only while its job runs (checked right
    before), and recorded in the job's cost ledger whatever its outcome."""
    ensure_active(services, job.job_id, read)
    try:
        with metered(
            services,
            job.job_id,
            kind=kind,
            provider=provider,
            units=units,
            panel_index=panel.index,
            pending=read.ledger if read is not None else None,
        ):
            yield
    finally:
        if read is not None:
            read.valid = False


def _current(asset: Asset | None, path: str) -> Asset | None:
    """The panel's own asset when it is still what the panel asks for: a panel edited or
    translated is redone only where its inputs changed (its words re-spoken, say, while its
    image is kept), and an unchanged asset costs no call and no round trip."""
    return asset if asset is not None and asset.path == path else None


def _stored(services: RenderingDependencies, panel: Panel, path: str) -> Asset | None:
    """The asset an earlier attempt stored. On a panel's first claim there can be none
    (only a lease holder writes assets), which saves a round trip on the usual path."""
    return services.blobs.exists(path) if panel.attempts > 1 else None


class SheetCache:
    """Character sheets this instance downloaded, by path: the panels of a job arrive
    together, and each would otherwise fetch the same sheets before its image call. A
    sheet's path names its job, character, style and engine, and a sheet is never redrawn
    under the same path, so a cached copy is never stale. Concurrent panels wait for one
    download (single flight); the newest ``size`` sheets are kept.
    """

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._sheets: OrderedDict[str, Future[bytes]] = OrderedDict()

    def get(self, services: RenderingDependencies, path: str) -> bytes:
        with self._lock:
            sheet = self._sheets.get(path)
            fetch = sheet is None
            if sheet is None:
                sheet = self._sheets[path] = Future()
                while len(self._sheets) > self._size:
                    self._sheets.popitem(last=False)
        if fetch:
            try:
                sheet.set_result(services.blobs.get(path))
            except BaseException as error:
                with self._lock:
                    self._sheets.pop(path, None)  # a failed download is tried again
                sheet.set_exception(error)
        return sheet.result()


SHEETS = SheetCache()


def _references(services: RenderingDependencies, characters: list[Character]) -> dict[str, bytes]:
    return {c.name: SHEETS.get(services, c.reference_path) for c in characters if c.reference_path}
