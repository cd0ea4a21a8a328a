"""Editing a finished comic through the real stack: HTTP → Firestore → Pub/Sub → worker."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from stack_helpers import headers, start_job, wait, watch

pytestmark = pytest.mark.stack

STORY = (
    'Mira kept the lighthouse. "A storm is coming," Tomas said. The sea turned black. '
    '"Light it now," Mira said. At dawn the sea was calm.'
)


def _job(api: str, job_id: str, uid: str = "erin") -> dict[str, Any]:
    reply = requests.get(f"{api}/jobs/{job_id}", headers=headers(uid), timeout=10)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _finished_again(api: str, job_id: str, generation: int, timeout: float = 90.0) -> dict:
    """The job once it has ended again after the edit that made ``generation``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(api, job_id)
        if job["generation"] >= generation and job["status"] == "completed":
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish again: {job['status']}")


def test_a_dialogue_edit_re_speaks_one_panel_and_draws_nothing(
    stack_env: dict[str, str],
) -> None:
    api = stack_env["PANELFLOW_API_URL"]
    job_id = start_job(api, "erin", STORY, panels=2, style="noir")
    timeline = wait(watch(stack_env["GOOGLE_CLOUD_PROJECT"], job_id))
    assert timeline.job["status"] == "completed", timeline.job
    before = _job(api, job_id)
    speaker = before["characters"][0]["name"] if before["characters"] else "narrator"
    panel = f"{api}/jobs/{job_id}/panels/1"

    # Bad edits name their field and change nothing.
    for body, field in (
        ({"dialogue": [{"speaker": "Nobody", "text": "Hi"}]}, "dialogue.0.speaker"),
        ({"dialogue": [{"speaker": speaker, "text": ""}]}, "dialogue.0.text"),
        ({"caption": "x" * 500}, "caption"),
    ):
        reply = requests.patch(panel, json=body, headers=headers("erin"), timeout=10)
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["errors"][0]["field"] == field
    assert requests.patch(panel, json={"caption": "x"}, headers=headers("frank")).status_code == 404

    line = {"speaker": speaker, "text": "The light holds!", "side": "left"}
    reply = requests.patch(panel, json={"dialogue": [line]}, headers=headers("erin"), timeout=10)
    assert reply.status_code == 202, reply.text
    assert reply.json()["redo"] == "speech" and reply.json()["dialogue"] == [line]
    # While the panel is redone, neither it nor the job takes another edit.
    again = requests.patch(panel, json={"caption": "Later."}, headers=headers("erin"), timeout=10)
    assert again.status_code == 409, again.text

    after = _finished_again(api, job_id, before["generation"] + 1)
    old, new = before["panels"][1], after["panels"][1]
    assert new["dialogue"] == [line]
    assert new["image"]["path"] == old["image"]["path"]  # the picture is kept
    assert new["audio"]["path"] != old["audio"]["path"]  # the words are spoken again
    costs_before, costs_after = before["cost"]["byKind"], after["cost"]["byKind"]
    assert costs_after["image"]["calls"] == costs_before["image"]["calls"]  # 0 image calls
    assert costs_after["speech"]["calls"] == costs_before["speech"]["calls"] + 1
    # The other panel is untouched.
    untouched = ("caption", "narration", "dialogue", "status", "generation")
    for key in untouched:
        assert after["panels"][0][key] == before["panels"][0][key], key
    for kind in ("image", "audio"):
        assert after["panels"][0][kind]["path"] == before["panels"][0][kind]["path"]
