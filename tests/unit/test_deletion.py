"""DELETE /jobs/{jobId} and DELETE /me on the fakes: what is removed, what is refused."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from functions_framework import create_app

from fakes.auth import fake_token
from panelflow.bootstrap import Services
from panelflow.domain.costs import PaidCall
from panelflow.domain.models import JobStatus
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
OWNER, OTHER = "owner-1", "other-1"


def _auth(uid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake_token(uid)}"}


@pytest.fixture
def client(services: Services):
    return create_app("api", str(SOURCE), "http").test_client()


def _job(client, services: Services, uid: str = OWNER, render: bool = True) -> str:
    headers = {**_auth(uid), "Idempotency-Key": f"key-{uid}-{len(services.store.jobs)}"}
    reply = client.post("/jobs", json={"story": "Ada met Bo.", "panels": 2}, headers=headers)
    job_id = reply.get_json()["jobId"]
    if render:
        plan_job(services, job_id)
        render_panel(services, job_id, 0)
    return job_id


def _held_by(services: Services, job_id: str) -> list[str]:
    """Everything the fakes still hold for the job."""
    store, blobs = services.store, services.blobs
    held = [
        name
        for name, table in (
            ("job", store.jobs),
            ("story", store.stories),
            ("panels", store.panels),
            ("costs", store.costs),
        )
        if job_id in table
    ]
    held += [f"key {k}" for k, v in store.keys.items() if v["jobId"] == job_id]
    held += [path for path in blobs.objects if path.startswith(f"jobs/{job_id}/")]
    return held


def test_deleting_a_job_removes_everything_stored_for_it(client, services: Services) -> None:
    job_id = _job(client, services)
    kept = _job(client, services)
    services.store.record_costs(job_id, [PaidCall(kind="image", provider="x", model="m")])
    assert len(_held_by(services, job_id)) >= 6  # job, story, panels, costs, key, assets
    reply = client.delete(f"/jobs/{job_id}", headers=_auth(OWNER))
    assert reply.status_code == 204 and reply.data == b""
    assert _held_by(services, job_id) == []
    assert len(_held_by(services, kept)) >= 5  # the owner's other job is untouched
    again = client.delete(f"/jobs/{job_id}", headers=_auth(OWNER))
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"


def test_deleting_someone_elses_job_is_404_and_removes_nothing(client, services) -> None:
    job_id = _job(client, services)
    before = _held_by(services, job_id)
    reply = client.delete(f"/jobs/{job_id}", headers=_auth(OTHER))
    assert reply.status_code == 404
    assert _held_by(services, job_id) == before
    assert client.delete(f"/jobs/{job_id}").status_code == 401
    assert _held_by(services, job_id) == before


def test_a_running_job_is_cancelled_and_its_late_worker_cleans_up(client, services) -> None:
    job_id = _job(client, services, render=False)
    plan_job(services, job_id)  # rendering, panel messages queued
    assert services.store.get_job(job_id).status == JobStatus.RENDERING
    paid_before = len(services.images.calls) + len(services.voice.calls)
    assert client.delete(f"/jobs/{job_id}", headers=_auth(OWNER)).status_code == 204
    # The queued deliveries arrive after the answer: no paid call starts, nothing is written.
    for queued, index in list(services.queue.panels):
        render_panel(services, queued, index)
    assert len(services.images.calls) + len(services.voice.calls) == paid_before
    assert _held_by(services, job_id) == []


def test_a_worker_whose_call_was_under_way_removes_what_it_wrote(services: Services) -> None:
    from panelflow.domain.models import JobRequest
    from panelflow.services.deletion import delete_job
    from panelflow.services.jobs import start_job

    request = JobRequest(story="Ada met Bo.", style="noir", panels=1, language="en")
    job_id = start_job(services, OWNER, request).job_id
    plan_job(services, job_id)
    original = services.images.panel

    def deleted_during_the_call(*args, **kwargs):
        drawn = original(*args, **kwargs)
        delete_job(services, OWNER, job_id)  # the user deletes the job meanwhile
        return drawn

    services.images.panel = deleted_during_the_call  # type: ignore[method-assign]
    render_panel(services, job_id, 0)
    assert _held_by(services, job_id) == []


def test_deleting_the_account_removes_every_job_record_and_the_user(client, services) -> None:
    jobs = [_job(client, services), _job(client, services), _job(client, services, render=False)]
    theirs = _job(client, services, uid=OTHER)
    assert services.store.usage.get(OWNER) is not None
    reply = client.delete("/me", headers=_auth(OWNER))
    assert reply.status_code == 204
    for job_id in jobs:
        assert _held_by(services, job_id) == []
    assert OWNER not in services.store.usage
    assert [k for k, v in services.store.keys.items() if v["ownerUid"] == OWNER] == []
    assert services.authenticator.deleted == [OWNER]
    # The token of a deleted user no longer works; the other user keeps everything.
    assert client.get("/jobs", headers=_auth(OWNER)).status_code == 401
    assert len(_held_by(services, theirs)) >= 5


def test_cli_delete_and_delete_account(monkeypatch, capsys) -> None:
    from panelflow_cli import main as cli_main

    calls: list[str] = []

    class Client:
        def delete_job(self, job_id: str) -> None:
            calls.append(f"delete {job_id}")

        def delete_account(self) -> None:
            calls.append("delete account")

    class Target:
        def describe(self) -> str:
            return "the local stack"

    monkeypatch.setattr(cli_main, "_connect", lambda _args: (Target(), Client()))
    monkeypatch.setattr(cli_main, "_client", lambda _args: Client())
    removed: list[object] = []
    monkeypatch.setattr(cli_main.CredentialStore, "remove", lambda self, t: removed.append(t))
    assert cli_main.cmd_delete(argparse.Namespace(job_id="j1")) == 0
    assert cli_main.cmd_delete_account(argparse.Namespace(yes=False)) == 2
    assert calls == ["delete j1"]
    assert "--yes" in capsys.readouterr().err
    assert cli_main.cmd_delete_account(argparse.Namespace(yes=True)) == 0
    assert calls == ["delete j1", "delete account"] and len(removed) == 1
    parser = cli_main.build_parser()
    assert parser.parse_args(["delete-account", "--yes"]).yes
    assert parser.parse_args(["delete", "j2"]).job_id == "j2"
