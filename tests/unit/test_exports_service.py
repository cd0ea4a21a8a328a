"""Exports through the API and the exporter function, on in-memory fakes with real images."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from functions_framework import create_app
from pypdf import PdfReader

from fakes.auth import FakeAuthenticator, fake_token
from fakes.providers import CountingPlanner, CountingVoice
from fakes.sharing import InMemoryDeviceStore, InMemoryShareStore, RecordingPushSender
from fakes.stores import InMemoryBlobStore, InMemoryJobStore, RecordingQueue
from panelflow import bootstrap
from panelflow.adapters.offline.renderer import PillowImageGenerator
from panelflow.bootstrap import Services
from panelflow.domain.errors import TransientError
from panelflow.domain.exports import ExportStatus
from panelflow.services.deletion import delete_job
from panelflow.services.exports import run_export
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "functions" / "orchestrator" / "main.py"
EXPORTER = ROOT / "functions" / "exporter" / "main.py"
AUTH = {"Authorization": f"Bearer {fake_token('reader-1')}"}


@pytest.fixture
def services(settings: Settings) -> Services:
    built = Services(
        settings,
        store=InMemoryJobStore(),
        queue=RecordingQueue(),
        blobs=InMemoryBlobStore(),
        planner=CountingPlanner(),
        images=PillowImageGenerator(),  # real PNGs: the exports letter and lay them out
        voice=CountingVoice(),
        authenticator=FakeAuthenticator(),
        shares=InMemoryShareStore(),
        devices=InMemoryDeviceStore(),
        push=RecordingPushSender(),
        worker_id="worker-1",
    )
    bootstrap.use(built)
    yield built
    bootstrap.use(None)


@pytest.fixture
def client(services: Services):
    return create_app("api", str(API), "http").test_client()


def _job(client, services: Services, panels: int = 3, finish: bool = True) -> str:
    created = client.post("/jobs", json={"story": "Ada met Bo.", "panels": panels}, headers=AUTH)
    job_id = created.get_json()["jobId"]
    plan_job(services, job_id)
    if finish:
        for index in range(panels):
            render_panel(services, job_id, index)
    return job_id


def _export(client, job_id: str, body: dict, headers=AUTH):
    return client.post(f"/jobs/{job_id}/exports", json=body, headers=headers)


def test_an_unfinished_job_cannot_be_exported(client, services: Services) -> None:
    job_id = _job(client, services, finish=False)
    response = _export(client, job_id, {"format": "pdf", "layout": "grid"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "job_not_finished" and "still running" in error["message"]
    assert services.queue.exports == []


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"format": "docx", "layout": "grid"}, "format", "must be one of pdf, cbz, mp4"),
        (
            {"format": "pdf", "layout": "collage"},
            "layout",
            "must be one of grid, strip, single, manga",
        ),
        ({"layout": "grid"}, "format", "is required"),
        ({"format": "pdf", "panels": []}, "panels", "must name at least one panel"),
        ({"format": "pdf", "panels": [0, 0]}, "panels", "must not name a panel twice"),
        ({"format": "pdf", "panels": [7]}, "panels", "panel 7 is not a finished panel"),
        ({"format": "pdf", "panels": ["1"]}, "panels.0", "must be an integer"),
        ({"format": "pdf", "colour": "red"}, "colour", "is not a known field"),
    ],
)
def test_bad_export_requests_get_400_naming_the_field(
    client, services: Services, body: dict, field: str, reason: str
) -> None:
    job_id = _job(client, services)
    response = _export(client, job_id, body)
    assert response.status_code == 400
    errors = response.get_json()["error"]["errors"]
    assert any(e["field"] == field and e["reason"].startswith(reason) for e in errors), errors


def test_export_is_idempotent_per_generation_format_layout_and_panels(
    client, services: Services
) -> None:
    job_id = _job(client, services)
    first = _export(client, job_id, {"format": "pdf", "layout": "grid"})
    assert first.status_code == 202
    body = first.get_json()
    assert body["status"] == "queued" and body["format"] == "pdf" and body["layout"] == "grid"
    assert first.headers["Location"] == f"/jobs/{job_id}/exports/{body['exportId']}"
    again = _export(client, job_id, {"format": "pdf", "layout": "grid"}).get_json()
    assert again["exportId"] == body["exportId"]
    assert services.queue.exports == [(job_id, body["exportId"])]
    other_layout = _export(client, job_id, {"format": "pdf", "layout": "manga"}).get_json()
    reordered = _export(client, job_id, {"format": "pdf", "panels": [2, 0]}).get_json()
    assert len({body["exportId"], other_layout["exportId"], reordered["exportId"]}) == 3
    # A changed job (an edited caption) is a new generation: the same request, a new export.
    services.store.panels[job_id][1].caption = "An edited caption."
    edited = _export(client, job_id, {"format": "pdf", "layout": "grid"}).get_json()
    assert edited["exportId"] != body["exportId"]


def test_the_exporter_writes_the_pdf_and_the_api_hands_out_a_link(
    client, services: Services
) -> None:
    job_id = _job(client, services)
    export = _export(client, job_id, {"format": "pdf", "layout": "strip", "panels": [2, 0]})
    export_id = export.get_json()["exportId"]
    _deliver(job_id, export_id)
    stored = services.store.get_export(job_id, export_id)
    assert stored.status == ExportStatus.DONE and stored.progress == 1.0
    assert stored.path == f"jobs/{job_id}/exports/{export_id}.pdf"
    data = services.blobs.get(stored.path)
    assert stored.size == len(data)
    view = client.get(f"/jobs/{job_id}/exports/{export_id}", headers=AUTH).get_json()
    assert view["status"] == "done" and view["size"] == len(data) and view["url"]
    assert stored.path in services.blobs.signed
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1  # two panels in a three-row strip
    text = reader.pages[0].extract_text()
    panels = services.store.panels[job_id]
    assert text.index(panels[2].caption) < text.index(panels[0].caption)
    assert panels[1].caption not in text
    # A redelivered message finds the export done and writes nothing again.
    puts = services.blobs.puts
    _deliver(job_id, export_id)
    assert services.blobs.puts == puts


def test_a_cbz_export_has_its_pages_and_comic_info(client, services: Services) -> None:
    job_id = _job(client, services, panels=5)
    export_id = _export(client, job_id, {"format": "cbz", "layout": "manga"}).get_json()["exportId"]
    run_export(services, job_id, export_id)
    data = services.blobs.get(services.store.get_export(job_id, export_id).path)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["page-001.jpg", "page-002.jpg", "ComicInfo.xml"]
        info = archive.read("ComicInfo.xml").decode()
    assert "<Manga>YesAndRightToLeft</Manga>" in info and "<PageCount>2</PageCount>" in info


def test_a_failing_export_ends_failed_with_a_reason_and_asking_again_retries(
    client, services: Services
) -> None:
    job_id = _job(client, services)
    export_id = _export(client, job_id, {"format": "pdf"}).get_json()["exportId"]
    image_path = services.store.panels[job_id][0].image.path
    saved = services.blobs.objects.pop(image_path)
    run_export(services, job_id, export_id)
    view = client.get(f"/jobs/{job_id}/exports/{export_id}", headers=AUTH).get_json()
    assert view["status"] == "failed" and view["error"]["message"] and "url" not in view
    services.blobs.objects[image_path] = saved
    again = _export(client, job_id, {"format": "pdf"}).get_json()
    assert (again["exportId"], again["status"]) == (export_id, "queued")
    assert services.queue.exports == [(job_id, export_id)] * 2
    run_export(services, job_id, export_id)
    assert services.store.get_export(job_id, export_id).status == ExportStatus.DONE


def test_a_transient_failure_is_retried_and_counted(client, services: Services) -> None:
    job_id = _job(client, services)
    export_id = _export(client, job_id, {"format": "cbz"}).get_json()["exportId"]

    def down(*_args: object, **_kwargs: object) -> None:
        raise TransientError("storage is unavailable, try again")

    services.blobs.put = down  # type: ignore[method-assign]
    for _ in range(5):
        with pytest.raises(TransientError):
            run_export(services, job_id, export_id)
    run_export(services, job_id, export_id)
    failed = services.store.get_export(job_id, export_id)
    assert failed.status == ExportStatus.FAILED and failed.error["code"] == "retries_exhausted"


def test_deleting_the_job_deletes_its_exports(client, services: Services) -> None:
    job_id = _job(client, services)
    export_id = _export(client, job_id, {"format": "pdf"}).get_json()["exportId"]
    run_export(services, job_id, export_id)
    assert any("/exports/" in path for path in services.blobs.objects)
    delete_job(services, "reader-1", job_id)
    assert services.store.get_export(job_id, export_id) is None
    assert not any(path.startswith(f"jobs/{job_id}/") for path in services.blobs.objects)
    response = client.get(f"/jobs/{job_id}/exports/{export_id}", headers=AUTH)
    assert response.status_code == 404


def test_another_users_export_is_not_found(client, services: Services) -> None:
    job_id = _job(client, services)
    export_id = _export(client, job_id, {"format": "pdf"}).get_json()["exportId"]
    other = {"Authorization": f"Bearer {fake_token('reader-2')}"}
    assert client.get(f"/jobs/{job_id}/exports/{export_id}", headers=other).status_code == 404
    assert _export(client, job_id, {"format": "pdf"}, headers=other).status_code == 404


def _deliver(job_id: str, export_id: str) -> None:
    """One export message through the exporter's real functions-framework entry point."""
    import base64

    app = create_app("export", str(EXPORTER), "cloudevent").test_client()
    data = base64.b64encode(json.dumps({"jobId": job_id, "exportId": export_id}).encode())
    response = app.post(
        "/",
        json={"message": {"data": data.decode(), "messageId": "m-1"}, "subscription": "s"},
        headers={
            "ce-id": "m-1",
            "ce-source": "//pubsub.googleapis.com/projects/demo-unit/topics/panelflow-exports",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-specversion": "1.0",
        },
    )
    assert response.status_code == 200, response.data


def test_export_answers_validate_against_the_spec(client, services: Services) -> None:
    import openapi_spec

    def check(template: str, method: str, response, status: int) -> dict:
        assert response.status_code == status, response.get_data(as_text=True)
        body = response.get_json()
        assert openapi_spec.body_errors(template, method, status, body) == [], body
        return body

    running = _job(client, services, finish=False)
    check("/jobs/{jobId}/exports", "POST", _export(client, running, {"format": "pdf"}), 409)
    job_id = _job(client, services)
    bad = _export(client, job_id, {"format": "gif"})
    check("/jobs/{jobId}/exports", "POST", bad, 400)
    created = check(
        "/jobs/{jobId}/exports", "POST", _export(client, job_id, {"format": "mp4"}), 202
    )
    assert created["layout"] == "single"
    path = f"/jobs/{job_id}/exports/{created['exportId']}"
    check("/jobs/{jobId}/exports/{exportId}", "GET", client.get(path, headers=AUTH), 200)
    pdf = check("/jobs/{jobId}/exports", "POST", _export(client, job_id, {"format": "pdf"}), 202)
    run_export(services, job_id, pdf["exportId"])
    done_path = f"/jobs/{job_id}/exports/{pdf['exportId']}"
    done = check(
        "/jobs/{jobId}/exports/{exportId}", "GET", client.get(done_path, headers=AUTH), 200
    )
    assert done["status"] == "done" and done["url"]
    missing = client.get(f"/jobs/{job_id}/exports/nothing", headers=AUTH)
    check("/jobs/{jobId}/exports/{exportId}", "GET", missing, 404)
