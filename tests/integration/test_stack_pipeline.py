"""Whole jobs through the real stack: HTTP → Pub/Sub → functions → Storage → Firestore."""

from __future__ import annotations

import io
import json

import pytest
import requests
from PIL import Image

from panelflow_cli.stack import LocalStack
from stack_helpers import headers, max_in_flight, start_job, wait, watch

pytestmark = pytest.mark.stack

STORY = (
    'Mira kept the lighthouse. "A storm is coming," Tomas said. The sea turned black. '
    'Mira climbed the stairs. "Light it now," Mira said. Boats turned toward the beam. '
    "At dawn the sea was calm."
)


def test_offline_job_completes_with_real_images_and_audio(stack_env: dict[str, str]) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    job_id = start_job(api, "alice", STORY, panels=6, style="manga")
    timeline = wait(watch(stack_env["GOOGLE_CLOUD_PROJECT"], job_id))

    assert timeline.job["status"] == "completed", timeline.job
    assert timeline.job["panelsDone"] == 6 and timeline.job["panelsFailed"] == 0
    # Progress is visible panel by panel before the job is complete, not all at the end.
    partial = [n for n in timeline.panel_progress_before_terminal() if 0 < n < 6]
    assert partial, timeline.events

    job = requests.get(f"{api}/jobs/{job_id}", headers=headers("alice"), timeout=10).json()
    assert [panel["index"] for panel in job["panels"]] == list(range(6))
    for panel in job["panels"]:
        image = requests.get(panel["image"]["url"], timeout=10)
        assert image.status_code == 200
        decoded = Image.open(io.BytesIO(image.content))
        decoded.load()
        assert decoded.format == "PNG" and decoded.size == (768, 512)
        audio = requests.get(panel["audio"]["url"], timeout=10).content
        assert len(audio) > 1000
        assert audio[:3] == b"ID3" or (audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0)
        assert panel["audio"]["durationMs"] > 300
    # Character reference sheets were rendered and stored before the fan-out.
    assert job["characters"]
    for character in job["characters"]:
        assert character["referencePath"].startswith(f"jobs/{job_id}/characters/")


JAPANESE = (
    "ミラは灯台を守ってきた。「嵐が来る」とトマスは言った。空は鉛色に変わった。"
    "『今すぐ灯をともそう』とミラは言った。夜明けに嵐は去った。"
)
ARABIC = (
    "كانت ميرا تحرس المنارة. «العاصفة قادمة» قال توماس. تحولت السماء إلى لون الرصاص. "
    "«سنشعل المصباح الآن» قالت ميرا. عند الفجر هدأت العاصفة."
)


@pytest.mark.parametrize(
    ("story", "language", "names"),
    [(JAPANESE, "ja", {"ミラ", "トマス"}), (ARABIC, "ar", {"ميرا", "توماس"})],
)
def test_a_story_in_another_script_completes_with_a_visible_voice_note(
    stack_env: dict[str, str], story: str, language: str, names: set[str]
) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    job_id = start_job(api, "alice", story, panels=3, language=language)
    timeline = wait(watch(stack_env["GOOGLE_CLOUD_PROJECT"], job_id))

    assert timeline.job["status"] == "completed", timeline.job
    job = requests.get(f"{api}/jobs/{job_id}", headers=headers("alice"), timeout=10).json()
    assert {c["name"] for c in job["characters"]} == names
    for panel in job["panels"]:
        assert panel["image"]["url"]
        # The offline voice speaks English only: no audio, and a note the reader shows.
        assert panel["audio"] is None
        assert [note["code"] for note in panel["notes"]] == ["voice_unavailable"]
        assert all(line["side"] in ("left", "right", "center") for line in panel["dialogue"])


def test_spoken_lines_carry_times_inside_their_audio(stack_env: dict[str, str]) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    job_id = start_job(api, "alice", STORY, panels=2)
    timeline = wait(watch(stack_env["GOOGLE_CLOUD_PROJECT"], job_id))

    assert timeline.job["status"] == "completed", timeline.job
    job = requests.get(f"{api}/jobs/{job_id}", headers=headers("alice"), timeout=10).json()
    for panel in job["panels"]:
        lines = panel["audio"]["lines"]
        spoken = [(panel["narration"] or panel["caption"])] + [d["text"] for d in panel["dialogue"]]
        assert [line["text"] for line in lines] == spoken
        assert lines[0]["speaker"] == "narrator"
        end = 0
        for line in lines:
            assert end <= line["startMs"] < line["endMs"]
            end = line["endMs"]
        assert end <= panel["audio"]["durationMs"]


def test_bad_input_is_rejected_and_leaves_no_job(stack_env: dict[str, str]) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    for body, field in (
        ({"story": "   "}, "story"),
        ({"story": "ok", "panels": 99}, "panels"),
        ({"story": "ok", "style": "cubism"}, "style"),
    ):
        response = requests.post(f"{api}/jobs", json=body, headers=headers("bob"), timeout=10)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == field
    response = requests.post(
        f"{api}/jobs", data="story", headers={**headers("bob"), "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    jobs = requests.get(f"{api}/jobs", headers=headers("bob"), timeout=10).json()["jobs"]
    assert jobs == []


def test_jobs_are_listed_for_their_owner_only(stack_env: dict[str, str]) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    job_id = start_job(api, "carol", "Carol wrote a story. It was short.", panels=2)
    mine = requests.get(f"{api}/jobs", headers=headers("carol"), timeout=10).json()["jobs"]
    assert [job["jobId"] for job in mine] == [job_id]
    other = requests.get(f"{api}/jobs/{job_id}", headers=headers("dave"), timeout=10)
    assert other.status_code == 404


def _calls(stack: LocalStack, kind: str) -> list[dict]:
    path = stack.call_log  # type: ignore[attr-defined]
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [row for row in rows if row["kind"] == kind]


def test_fan_out_renders_at_least_8_panels_at_once(simulated_env: dict[str, str]) -> None:
    api = simulated_env["PANELFLOW_API_URL"]
    story = " ".join(f"Scene number {n} happens here." for n in range(1, 13))
    job_id = start_job(api, "erin", story, panels=12)
    timeline = wait(watch(simulated_env["GOOGLE_CLOUD_PROJECT"], job_id))
    assert timeline.job["status"] == "completed"
    in_flight = max_in_flight(list(timeline.panels.values()))
    assert in_flight >= 8, in_flight


def test_failing_panels_end_the_job_partial_with_reasons(
    simulated_stack: LocalStack, simulated_env: dict[str, str]
) -> None:
    api = simulated_env["PANELFLOW_API_URL"]
    story = (
        "The first panel is fine. The second one says SIMULATE-BLOCK today. "
        "The third one says SIMULATE-CRASH today. The fourth panel is fine."
    )
    job_id = start_job(api, "frank", story, panels=4)
    timeline = wait(watch(simulated_env["GOOGLE_CLOUD_PROJECT"], job_id, timeout=90))
    assert timeline.job["status"] == "partial", timeline.job
    assert (timeline.job["panelsDone"], timeline.job["panelsFailed"]) == (2, 2)
    blocked, crashed = timeline.panels[1], timeline.panels[2]
    assert blocked["status"] == "failed" and blocked["error"]["code"] == "content_blocked"
    # The crash is retried until Pub/Sub dead-letters it; then the panel fails with a reason.
    assert crashed["status"] == "failed" and crashed["error"]["code"] == "retries_exhausted"
    # Attempts are a worker's field: counted on the panel's lease, not on what clients read.
    assert "attempts" not in crashed and "lease" not in crashed
    from google.cloud import firestore

    lease = (
        firestore.Client(project=simulated_env["GOOGLE_CLOUD_PROJECT"])
        .collection("panelLeases")
        .document(f"{job_id}-002")
        .get()
    )
    assert lease.get("attempts") == 5
    attempts = [c for c in _calls(simulated_stack, "image") if "SIMULATE-CRASH" in c["text"]]
    assert len(attempts) >= 5
