"""Exports of a finished comic (PDF, CBZ, MP4): asked for through the API, written by the
exporter function from a Pub/Sub message, progress kept at ``jobs/{jobId}/exports/{id}``.

Asking is idempotent: the export's id comes from the job's generation, the format, the
layout and the panels (``panelflow.domain.exports``), so a repeated request finds the first
export, and only a changed job makes a new one. Writing is safe to repeat: a redelivered
message finds the export done and stops, or writes the same file to the same path again.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image

from panelflow import logs
from panelflow.domain.errors import (
    Conflict,
    NotFound,
    PanelflowError,
    TransientError,
    ValidationFailed,
)
from panelflow.domain.exports import (
    MAX_EXPORT_ATTEMPTS,
    Export,
    ExportStatus,
    export_id,
    export_path,
    job_generation,
)
from panelflow.domain.models import Job, JobStatus, Panel, PanelStatus
from panelflow.exports import CONTENT_TYPES, Comic, ComicPanel, Progress
from panelflow.ports import ExportDependencies, JobDependencies
from panelflow.services.deletion import forget_if_deleted
from panelflow.services.jobs import get_job_for

# Jobs whose panels are all finished; a partial job exports the panels that were drawn.
EXPORTABLE = (JobStatus.COMPLETED, JobStatus.PARTIAL)
# Progress is written at most this often (in steps of the 0..1 scale): a handful of writes
# per export keeps the document far below Firestore's write rate per document.
PROGRESS_STEP = 0.2


class JobNotFinished(Conflict):
    code = "job_not_finished"


@dataclass(frozen=True)
class ExportRequest:
    """A validated request (``panelflow.entrypoints.validation.parse_export``)."""

    format: str
    layout: str
    # Panel indexes in the order to show them; None: every finished panel in order.
    panels: tuple[int, ...] | None = None


def request_export(
    services: JobDependencies, owner_uid: str, job_id: str, request: ExportRequest
) -> Export:
    """Finds or creates the export and queues it for the exporter function.

    Returns:
        The export: new and queued, or the one an identical earlier request made.

    Raises:
        NotFound: no such job for this caller.
        JobNotFinished: the job is still running, or ended without any panel to show.
        ValidationFailed: ``panels`` names a panel the job has not finished.
        TransientError: the store or the queue is unavailable.
    """
    job = get_job_for(services, owner_uid, job_id)
    if job.status not in EXPORTABLE:
        state = "still running" if not job.status.terminal else job.status.value
        raise JobNotFinished(f"job {job_id} is {state}: only a finished comic can be exported")
    panels = services.store.list_panels(job_id)
    chosen = choose_panels(panels, request.panels)
    generation = job_generation(job, panels)
    now = time.time()
    wanted = Export(
        export_id=export_id(generation, request.format, request.layout, chosen),
        job_id=job_id,
        format=request.format,
        layout=request.layout,
        panels=list(chosen),
        generation=generation,
        created_at=now,
        updated_at=now,
    )
    export, created = services.store.create_export(wanted)
    if not created and export.status == ExportStatus.FAILED:
        # Asking again for an export that failed tries it again.
        retried = replace(export, status=ExportStatus.QUEUED, progress=0.0, error=None)
        retried.attempts, retried.updated_at = 0, now
        if not services.store.save_export(retried, [ExportStatus.FAILED]):
            return _reread(services, export)
        export, created = retried, True
    if created:
        _queue(services, export)
    return export


def _queue(services: JobDependencies, export: Export) -> None:
    try:
        services.queue.publish_export(export.job_id, export.export_id)
    except PanelflowError:
        # Nobody would write it: say so on the export, so asking again retries it.
        failed = replace(
            export,
            status=ExportStatus.FAILED,
            error={"code": "not_queued", "message": "the export could not be queued; try again"},
        )
        services.store.save_export(failed, [ExportStatus.QUEUED])
        raise
    logs.info("export queued", jobId=export.job_id, exportId=export.export_id)


def _reread(services: JobDependencies, export: Export) -> Export:
    return services.store.get_export(export.job_id, export.export_id) or export


def choose_panels(panels: Sequence[Panel], wanted: Sequence[int] | None) -> tuple[int, ...]:
    """The panels to export, in order: ``wanted`` (reordered, some hidden), else every
    finished panel by index.

    Raises:
        ValidationFailed: a wanted panel is not a finished panel of the job.
        JobNotFinished: the job has no finished panel at all.
    """
    drawn = [p.index for p in panels if p.status == PanelStatus.DONE and p.image is not None]
    if not drawn:
        raise JobNotFinished("this job has no finished panel to export")
    if wanted is None:
        return tuple(drawn)
    missing = [index for index in wanted if index not in drawn]
    if missing:
        raise ValidationFailed(
            [
                {
                    "field": "panels",
                    "reason": f"panel {missing[0]} is not a finished panel of this job "
                    f"(finished: {', '.join(str(i) for i in drawn)})",
                }
            ]
        )
    return tuple(wanted)


def get_export_for(
    services: JobDependencies, owner_uid: str, job_id: str, export_id: str
) -> dict[str, Any]:
    """The export as the API returns it to the job's owner: with a signed ``url`` once done.

    Raises:
        NotFound: no such job for this caller, or no such export of it.
    """
    get_job_for(services, owner_uid, job_id)
    export = services.store.get_export(job_id, export_id)
    if export is None:
        raise NotFound(f"no export {export_id} of job {job_id}")
    return export_view(services, export)


def export_view(services: JobDependencies, export: Export) -> dict[str, Any]:
    view = export.to_dict()
    view.pop("generation", None)
    view.pop("attempts", None)
    if export.status == ExportStatus.DONE and export.path:
        signed = services.blobs.signed_url(export.path, services.settings.signed_url_seconds)
        view.update(url=signed.url, expiresAt=signed.expires_at)
    return view


def run_export(services: ExportDependencies, job_id: str, export_id_: str) -> None:
    """Writes one export (the exporter function's handler); safe to run again.

    Raises:
        TransientError: a store is unavailable: the message is delivered again.
    """
    export = services.store.get_export(job_id, export_id_)
    if export is None or export.status in (ExportStatus.DONE, ExportStatus.FAILED):
        return  # deleted with its job, or finished by an earlier delivery
    job = services.store.get_job(job_id)
    if job is None:
        return
    if export.attempts >= MAX_EXPORT_ATTEMPTS:
        _fail(services, export, "retries_exhausted", "the export kept failing; try again later")
        return
    running = replace(
        export, status=ExportStatus.RUNNING, progress=0.05, attempts=export.attempts + 1
    )
    running.updated_at = time.time()
    if not services.store.save_export(running, [ExportStatus.QUEUED, ExportStatus.RUNNING]):
        return
    reporter = _ProgressWriter(services, running)
    try:
        data = _write(services, job, running, reporter)
        path = export_path(job_id, running)
        services.blobs.put(path, data, CONTENT_TYPES[running.format])
    except TransientError:
        raise  # delivered again; the attempt is counted on the export
    except PanelflowError as error:
        _fail(services, running, error.code, error.message)
        return
    if forget_if_deleted(services.store, services.blobs, job_id):
        return
    done = replace(running, status=ExportStatus.DONE, progress=1.0, path=path, size=len(data))
    done.updated_at = time.time()
    services.store.save_export(done, [ExportStatus.RUNNING])
    logs.info("export written", jobId=job_id, exportId=export_id_, size=len(data))


def _fail(services: ExportDependencies, export: Export, code: str, message: str) -> None:
    failed = replace(export, status=ExportStatus.FAILED, error={"code": code, "message": message})
    failed.updated_at = time.time()
    services.store.save_export(failed, [ExportStatus.QUEUED, ExportStatus.RUNNING])
    logs.error("export failed", jobId=export.job_id, exportId=export.export_id, code=code)


class _ProgressWriter:
    """Writes progress to the export document, a few times per export."""

    def __init__(self, services: ExportDependencies, export: Export) -> None:
        self._services = services
        self._export = export
        self._written = export.progress

    def __call__(self, progress: float) -> None:
        progress = round(min(max(progress, 0.0), 0.99), 3)
        if progress - self._written < PROGRESS_STEP:
            return
        self._export = replace(self._export, progress=progress)
        self._export.updated_at = time.time()
        self._services.store.save_export(self._export, [ExportStatus.RUNNING])
        self._written = progress

    def part(self, start: float, end: float) -> Progress:
        """A callback for one stage, mapping its 0..1 to ``start``..``end``."""
        return lambda share: self(start + (end - start) * share)


def _write(
    services: ExportDependencies, job: Job, export: Export, reporter: _ProgressWriter
) -> bytes:
    comic = _comic(services, job, export, reporter.part(0.05, 0.4))
    writing = reporter.part(0.4, 0.95)
    if export.format == "pdf":
        from panelflow.exports.pdf import write_pdf

        return write_pdf(comic, export.layout, writing)
    if export.format == "cbz":
        from panelflow.exports.cbz import write_cbz

        return write_cbz(comic, export.layout, writing)
    from panelflow.exports.mp4 import find_ffmpeg, write_mp4

    return write_mp4(comic, find_ffmpeg(services.settings.ffmpeg), writing)


def _comic(services: ExportDependencies, job: Job, export: Export, progress: Progress) -> Comic:
    """The chosen panels, lettered, in the export's order (audio too for a video)."""
    from panelflow.lettering import PanelText, letter_panel

    panels = {panel.index: panel for panel in services.store.list_panels(job.job_id)}
    shown = []
    for number, index in enumerate(export.panels, start=1):
        panel = panels.get(index)
        if panel is None or panel.image is None:
            raise ExportSourceMissing(f"panel {index} is no longer there; export again")
        image = Image.open(io.BytesIO(services.blobs.get(panel.image.path)))
        image.load()
        text = PanelText(caption=panel.caption, narration=panel.narration, dialogue=panel.dialogue)
        lettered = letter_panel(image, text, language=job.language)
        audio = None
        if export.format == "mp4" and panel.audio is not None:
            audio = services.blobs.get(panel.audio.path)
        shown.append(
            ComicPanel(
                index=index,
                image=lettered,
                text=panel_words(panel),
                audio=audio,
                audio_duration_ms=panel.audio.duration_ms if panel.audio else None,
            )
        )
        progress(number / len(export.panels))
    return Comic(title=job.title, language=job.language, panels=tuple(shown))


class ExportSourceMissing(PanelflowError):
    code = "export_source_missing"


def panel_words(panel: Panel) -> tuple[str, ...]:
    """A panel's words in reading order: caption, narration, then each line of dialogue."""
    words = [panel.caption.strip()]
    if panel.narration.strip() and panel.narration.strip() != words[0]:
        words.append(panel.narration.strip())
    words += [f"{line.speaker}: {line.text}".strip() for line in panel.dialogue if line.text]
    return tuple(word for word in words if word)
