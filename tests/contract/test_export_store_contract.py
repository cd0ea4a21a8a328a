"""Export documents: the same assertions on the in-memory fake and on Firestore (emulator)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest

from panelflow.domain.exports import Export, ExportStatus
from panelflow.domain.models import Job, JobStatus

pytestmark = pytest.mark.emulators


def _job(store) -> str:
    now = time.time()
    job = Job(
        job_id=uuid.uuid4().hex,
        owner_uid="owner-1",
        status=JobStatus.COMPLETED,
        style="noir",
        language="en",
        panels_requested=2,
        created_at=now,
        updated_at=now,
    )
    store.create_job(job, "story")
    return job.job_id


def _export(job_id: str) -> Export:
    return Export(
        export_id=f"pdf-grid-{uuid.uuid4().hex[:8]}",
        job_id=job_id,
        format="pdf",
        layout="grid",
        panels=[1, 0],
        generation="g1",
        created_at=1.0,
        updated_at=1.0,
    )


def test_create_is_idempotent_and_get_reads_it_back(store) -> None:
    job_id = _job(store)
    export = _export(job_id)
    stored, created = store.create_export(export)
    assert created and stored == export
    again, created = store.create_export(replace(export, generation="other"))
    assert not created and again == export
    assert store.get_export(job_id, export.export_id) == export
    assert store.get_export(job_id, "missing") is None


def test_save_is_a_compare_and_set_on_the_status(store) -> None:
    job_id = _job(store)
    export = _export(job_id)
    store.create_export(export)
    running = replace(export, status=ExportStatus.RUNNING, progress=0.4, attempts=1)
    assert store.save_export(running, [ExportStatus.QUEUED])
    assert not store.save_export(replace(running, progress=0.9), [ExportStatus.QUEUED])
    done = replace(running, status=ExportStatus.DONE, progress=1.0, path="jobs/x/e.pdf", size=9)
    assert store.save_export(done, [ExportStatus.RUNNING])
    assert store.get_export(job_id, export.export_id) == done
    # A save never brings back an export that is gone.
    assert not store.save_export(_export(job_id), [ExportStatus.QUEUED])


def test_deleting_the_job_deletes_its_exports(store) -> None:
    job_id = _job(store)
    export = _export(job_id)
    store.create_export(export)
    store.delete_job(job_id)
    assert store.get_export(job_id, export.export_id) is None
    assert not store.save_export(replace(export, progress=0.5), [ExportStatus.QUEUED])
