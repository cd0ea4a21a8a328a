"""The panel step: claim, draw and speak concurrently, store, record, maybe finish the job."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

from panelflow import logs
from panelflow.domain import assets
from panelflow.domain.errors import JobCancelled, NotFound, PanelflowError
from panelflow.domain.models import (
    Asset,
    Character,
    Job,
    JobStatus,
    Panel,
    PanelAssets,
    PanelRequest,
    SpeechLine,
)
from panelflow.ports import Claim, RenderingDependencies, StoreDependencies
from panelflow.services.deletion import forget_if_deleted
from panelflow.services.metering import metered


def render_panel(services: RenderingDependencies, job_id: str, index: int) -> None:
    """Renders one panel; safe under duplicate and late deliveries.

    Raises:
        TransientError: the lease is held elsewhere or a dependency is down; redeliver later.
        Exception: anything unexpected, so the message is retried and finally dead-lettered.
    """
    store = services.store
    started = time.monotonic()
    # One owner per delivery, not per instance: two copies of a message handled by threads
    # of one instance must not both hold the lease (and both pay).
    owner = f"{services.worker_id}/{uuid.uuid4().hex[:8]}"
    # The job is read while the panel is claimed: two round trips at once, not in turn.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="job") as pool:
        job_read = pool.submit(store.get_job, job_id)
        try:
            claim = store.claim_panel(job_id, index, owner, services.settings.lease_seconds)
        except NotFound:
            if job_read.result() is None:
                logs.warning("panel message for a job that does not exist", jobId=job_id)
                return
            raise
        job = job_read.result()
    claimed = time.monotonic()
    if job is None or job.status != JobStatus.RENDERING:
        if claim.acquired:
            store.release_panel(job_id, index, owner)
        return
    if not claim.acquired:
        # Finished already (a duplicate delivery): the job may still need its final move.
        finish_job_if_done(services, job)
        return
    log_fields = {"jobId": job_id, "panelIndex": index, "attempt": claim.attempt}
    try:
        image, audio = _produce(services, job, claim.panel)
    except JobCancelled:
        store.release_panel(job_id, index, owner)
        logs.info("panel stopped: the job was cancelled", **log_fields)
        forget_if_deleted(store, services.blobs, job_id)
        return
    except PanelflowError as error:
        _retry_or_fail(services, claim.panel, owner, error, log_fields)
    except Exception:
        store.release_panel(job_id, index, owner)
        raise
    else:
        if not _store_done(services, claim, owner, (image, audio), (started, claimed), log_fields):
            return
    finish_job_if_done(services, job)


def _retry_or_fail(
    services: RenderingDependencies,
    panel: Panel,
    owner: str,
    error: PanelflowError,
    log_fields: dict[str, object],
) -> None:
    """A retryable error gives the panel back and is raised again (the message is
    redelivered); any other fails the panel with its reason."""
    store = services.store
    if error.retryable:
        store.release_panel(panel.job_id, panel.index, owner)
        # retryAfter: the least wait the provider asked for (google.rpc.RetryInfo), which
        # the subscription's retry policy should cover.
        retry_after = getattr(error, "retry_after", None)
        logs.warning("panel will be retried", code=error.code, retryAfter=retry_after, **log_fields)
        raise error
    if not store.fail_panel(panel.job_id, panel.index, error.to_dict(), owner):
        forget_if_deleted(store, services.blobs, panel.job_id)
    logs.warning("panel failed", code=error.code, **log_fields)


def _store_done(
    services: RenderingDependencies,
    claim: Claim,
    owner: str,
    produced_assets: tuple[Asset, Asset | None],
    times: tuple[float, float],
    log_fields: dict[str, object],
) -> bool:
    """Marks the claimed panel done; False when its job was deleted meanwhile (what this
    delivery wrote is then removed)."""
    store, panel = services.store, claim.panel
    image, audio = produced_assets
    started, claimed = times
    produced = time.monotonic()
    if not store.complete_panel(
        panel.job_id, panel.index, owner, PanelAssets(image, audio), claim.token
    ):
        return not forget_if_deleted(store, services.blobs, panel.job_id)
    logs.info(
        "panel done",
        claimMs=int((claimed - started) * 1000),
        produceMs=int((produced - claimed) * 1000),
        recordMs=int((time.monotonic() - produced) * 1000),
        **log_fields,
    )
    return True


def finish_job_if_done(services: StoreDependencies, job: Job) -> JobStatus | None:
    """Moves the job to its final state if every panel is finished; exactly once overall."""
    counts = services.store.finished_counts(job.job_id, job.panel_count)
    if counts is None:
        return None
    done, failed = counts
    final = services.store.finalize_job(job.job_id, done, failed)
    if final is not None:
        logs.info("job finished", jobId=job.job_id, status=final.value, done=done, failed=failed)
    return final


def _produce(services: RenderingDependencies, job: Job, panel: Panel) -> tuple[Asset, Asset | None]:
    """Image and audio at the same time: the slower one sets the panel's time."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="panel") as pool:
        image = pool.submit(_image, services, job, panel)
        audio = pool.submit(_audio, services, job, panel)
        return image.result(), audio.result()


def ensure_active(services: StoreDependencies, job_id: str) -> None:
    """Checked right before every paid call, so a cancel stops spending within one call."""
    job = services.store.get_job(job_id)
    if job is None or job.status not in (JobStatus.RENDERING, JobStatus.QUEUED):
        raise JobCancelled(f"job {job_id} is no longer running")


def _image(services: RenderingDependencies, job: Job, panel: Panel) -> Asset:
    plan = panel.plan()
    characters = assets.panel_characters(job, panel)
    path = assets.panel_image_path(job, panel, plan, characters, services.image_engine)
    stored = _current(panel.image, path) or _stored(services, panel, path)
    if stored is not None:
        return stored
    references = _references(services, characters)
    previous = services.store.get_panel(job.job_id, panel.index - 1) if panel.index else None
    with _paid_call(services, job, panel, "image", services.settings.images, {"images": 1}):
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


def _audio(services: RenderingDependencies, job: Job, panel: Panel) -> Asset | None:
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
    stored = _current(panel.audio, path) or _stored(services, panel, path)
    if stored is not None:
        return stored
    characters = {"characters": sum(len(line.text) for line in lines)}
    with _paid_call(services, job, panel, "speech", services.settings.voice, characters):
        audio = services.voice.synthesize(lines, language=job.language)
    return services.blobs.put(path, audio.data, audio.content_type, durationMs=audio.duration_ms)


@contextlib.contextmanager
def _paid_call(
    services: RenderingDependencies,
    job: Job,
    panel: Panel,
    kind: str,
    provider: str,
    units: Mapping[str, int],
) -> Iterator[None]:
    """One paid provider call for ``panel``: made only while its job runs (checked right
    before), and recorded in the job's cost ledger whatever its outcome."""
    ensure_active(services, job.job_id)
    with metered(
        services, job.job_id, kind=kind, provider=provider, units=units, panel_index=panel.index
    ):
        yield


def _current(asset: Asset | None, path: str) -> Asset | None:
    """The panel's own asset when it is still what the panel asks for: a panel edited or
    translated is redone only where its inputs changed (its words re-spoken, say, while its
    image is kept), and an unchanged asset costs no call and no round trip."""
    return asset if asset is not None and asset.path == path else None


def _stored(services: RenderingDependencies, panel: Panel, path: str) -> Asset | None:
    """The asset an earlier attempt stored. On a panel's first claim there can be none
    (only a lease holder writes assets), which saves a round trip on the usual path."""
    return services.blobs.exists(path) if panel.attempts > 1 else None


def _references(services: RenderingDependencies, characters: list[Character]) -> dict[str, bytes]:
    return {c.name: services.blobs.get(c.reference_path) for c in characters if c.reference_path}
