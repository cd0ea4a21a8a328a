"""Exports through the whole local stack: the API queues, the exporter function writes the
file to Storage, progress in Firestore, and the CLI downloads it."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from importlib import resources
from pathlib import Path

import pytest
import requests
from google.cloud import storage
from pypdf import PdfReader

from panelflow_cli.stack import LocalStack
from stack_helpers import headers, wait, watch

pytestmark = pytest.mark.stack

CLI = [sys.executable, "-m", "panelflow_cli.main"]
STORY = resources.files("panelflow_cli").joinpath("samples/lighthouse.txt").read_text()


def start_job(api: str, uid: str, story: str, panels: int) -> str:
    # A long timeout: the first requests to a cold stack on a busy machine can take a while.
    response = requests.post(
        f"{api}/jobs", json={"story": story, "panels": panels}, headers=headers(uid), timeout=60
    )
    assert response.status_code == 202, response.text
    return str(response.json()["jobId"])


def _finished_job(stack_env: dict[str, str], uid: str, panels: int = 8) -> str:
    job_id = start_job(stack_env["PANELFLOW_API_URL"], uid, STORY, panels=panels)
    timeline = wait(watch(stack_env["GOOGLE_CLOUD_PROJECT"], job_id, timeout=240))
    assert timeline.job["status"] == "completed", timeline.job
    return job_id


def _until_done(api: str, uid: str, job_id: str, export_id: str) -> tuple[dict, list[float]]:
    seen: list[float] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        url = f"{api}/jobs/{job_id}/exports/{export_id}"
        export = requests.get(url, headers=headers(uid), timeout=60).json()
        seen.append(export["progress"])
        if export["status"] in ("done", "failed"):
            return export, seen
        time.sleep(0.3)
    raise AssertionError(f"export {export_id} did not finish: {export}")


def test_pdf_export_through_the_stack_is_stored_under_the_job(stack_env: dict[str, str]) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    # An unfinished job: 409, and nothing queued.
    # Twelve panels take seconds to draw: the export is asked for long before they are done.
    running = start_job(api, "exporter-a", STORY, panels=12)
    refused = requests.post(
        f"{api}/jobs/{running}/exports",
        json={"format": "pdf"},
        headers=headers("exporter-a"),
        timeout=60,
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_not_finished"

    job_id = _finished_job(stack_env, "exporter-a")
    bad = requests.post(
        f"{api}/jobs/{job_id}/exports",
        json={"format": "gif"},
        headers=headers("exporter-a"),
        timeout=60,
    )
    assert bad.status_code == 400 and bad.json()["error"]["errors"][0]["field"] == "format"

    asked = requests.post(
        f"{api}/jobs/{job_id}/exports",
        json={"format": "pdf", "layout": "grid"},
        headers=headers("exporter-a"),
        timeout=60,
    )
    assert asked.status_code == 202, asked.text
    export_id = asked.json()["exportId"]
    again = requests.post(
        f"{api}/jobs/{job_id}/exports",
        json={"format": "pdf", "layout": "grid"},
        headers=headers("exporter-a"),
        timeout=60,
    ).json()
    assert again["exportId"] == export_id
    export, _progress = _until_done(api, "exporter-a", job_id, export_id)
    assert export["status"] == "done", export
    assert export["path"] == f"jobs/{job_id}/exports/{export_id}.pdf"

    # The object in the Storage emulator is the file the link serves.
    client = storage.Client(project=stack_env["GOOGLE_CLOUD_PROJECT"])
    bucket = client.bucket(os.environ.get("PANELFLOW_BUCKET", "panelflow-assets"))
    blob = bucket.get_blob(export["path"])
    assert blob is not None and blob.size == export["size"]
    assert blob.content_type == "application/pdf"
    data = requests.get(export["url"], timeout=30).content
    assert data == blob.download_as_bytes()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2  # eight panels, four a page
    job = requests.get(f"{api}/jobs/{job_id}", headers=headers("exporter-a"), timeout=60).json()
    text = "\n".join(page.extract_text() for page in reader.pages)
    captions = [panel["caption"] for panel in job["panels"] if panel["caption"]]
    positions = [text.index(caption) for caption in captions]
    assert positions == sorted(positions)

    # Deleting the job deletes the export and its file.
    requests.delete(f"{api}/jobs/{job_id}", headers=headers("exporter-a"), timeout=30)
    assert bucket.get_blob(export["path"]) is None


def _cli(args: list[str], stack: LocalStack, uid: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env.update(PANELFLOW_STATE_DIR=str(stack.state_dir), PANELFLOW_UID=uid)
    return subprocess.run(
        CLI + args, env=env, capture_output=True, text=True, timeout=300, check=False,
        stdin=subprocess.DEVNULL, cwd=cwd,
    )  # fmt: skip


def _seconds(path: Path) -> float:
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe comes with ffmpeg (scripts/bootstrap.sh installs it)"
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return float(json.loads(out)["format"]["duration"])


def test_cli_exports_cbz_and_mp4_and_prints_the_path_last(
    local_stack: LocalStack, stack_env: dict[str, str], tmp_path: Path
) -> None:
    job_id = _finished_job(stack_env, "exporter-b", panels=4)
    target = tmp_path / "comic.cbz"
    result = _cli(
        ["export", job_id, "--format", "cbz", "--layout", "manga", "--panels", "3,1,2", "-o",
         str(target)], local_stack, "exporter-b", tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(target.resolve())
    assert "%" in result.stderr  # progress lines
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == ["page-001.jpg", "ComicInfo.xml"]
        assert b"<Manga>YesAndRightToLeft</Manga>" in archive.read("ComicInfo.xml")

    video = tmp_path / "comic.mp4"
    result = _cli(
        ["export", job_id, "--format", "mp4", "-o", str(video)], local_stack, "exporter-b", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(video.resolve())
    api = stack_env["PANELFLOW_API_URL"]
    job = requests.get(f"{api}/jobs/{job_id}", headers=headers("exporter-b"), timeout=60).json()
    audio_seconds = 0.0
    for panel in job["panels"]:
        clip = tmp_path / f"audio-{panel['index']}.mp3"
        clip.write_bytes(requests.get(panel["audio"]["url"], timeout=60).content)
        audio_seconds += _seconds(clip)
    seconds = _seconds(video)
    assert abs(seconds - audio_seconds) / audio_seconds < 0.05, (seconds, audio_seconds)

    # Clear refusals: a bad layout is the API's 400, an unfinished job its 409.
    bad = _cli(
        ["export", job_id, "--format", "pdf", "--layout", "collage"],
        local_stack,
        "exporter-b",
        tmp_path,
    )
    assert bad.returncode == 1 and "layout: must be one of" in bad.stderr
    running = start_job(api, "exporter-b", STORY, panels=12)
    early = _cli(["export", running, "--format", "pdf"], local_stack, "exporter-b", tmp_path)
    assert early.returncode == 1 and "is not finished" in early.stderr
