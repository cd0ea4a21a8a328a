"""The panelflow command's sign-in paths and readable failures, with Firebase Auth faked."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from panelflow_cli import main as cli
from panelflow_cli.credentials import Target
from panelflow_cli.follow import Progress
from panelflow_cli.identity import IdentityError, Session

API = "https://api.panelflow.example"


def id_token(project: str, uid: str) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"aud": project, "sub": uid}).encode())
    return f"eyJhbGciOiJub25lIn0.{claims.decode().rstrip('=')}."


class FakeIdentity:
    """Firebase Auth for one account, ana@example.com / right-pw, in project panelflow-prod."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _session(self, email: str = "ana@example.com") -> Session:
        return Session(
            uid="ana-uid",
            id_token=id_token("panelflow-prod", "ana-uid"),
            refresh_token="refresh",
            expires_at=time.time() + 3600,
            email=email,
        )

    def sign_in(self, email: str, password: str) -> Session:
        self.calls.append("sign_in")
        if email != "ana@example.com":
            raise IdentityError("EMAIL_NOT_FOUND", "no account uses that email")
        if password != "right-pw":
            raise IdentityError("INVALID_PASSWORD", "wrong password")
        return self._session()

    def refresh(self, session: Session) -> Session:
        self.calls.append("refresh")
        return self._session(session.email)


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeIdentity:
    monkeypatch.setenv("PANELFLOW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PANELFLOW_STATE_DIR", str(tmp_path / "no-stack"))
    identity = FakeIdentity()
    monkeypatch.setattr(Target, "identity", lambda _self: identity)
    return identity


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_login_to_a_deployed_api_then_whoami(
    auth: FakeIdentity,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    target = ["--api-url", API, "--api-key", "web-key"]
    code, _, err = run(
        monkeypatch,
        capsys,
        "login",
        *target,
        "--email",
        "ana@example.com",
        "--password-stdin",
        stdin="right-pw\n",
    )
    assert code == 0, err
    assert "logged in as ana@example.com (uid ana-uid)" in err
    stored = json.loads((tmp_path / "config" / "credentials.json").read_text())["logins"]
    # The project, not named on the command line, comes from the sign-in.
    assert list(stored) == [f"{API} panelflow-prod"]

    code, out, err = run(monkeypatch, capsys, "whoami", "--json", *target)
    assert code == 0, err
    assert json.loads(out) == {
        "uid": "ana-uid",
        "user": "ana@example.com",
        "api": API,
        "project": "panelflow-prod",
        "localStack": False,
    }
    assert auth.calls == ["sign_in"]  # the stored token was fresh: no refresh


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("ana@example.com", "wrong-pw", "panelflow login: wrong password"),
        ("bob@example.com", "right-pw", "panelflow login: no account uses that email"),
    ],
)
def test_a_refused_login_is_one_line_and_stores_nothing(
    auth: FakeIdentity,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    email: str,
    password: str,
    message: str,
) -> None:
    code, out, err = run(
        monkeypatch,
        capsys,
        "login",
        "--api-url",
        API,
        "--api-key",
        "k",
        "--email",
        email,
        "--password-stdin",
        stdin=password + "\n",
    )
    assert (code, out, err) == (1, "", message + "\n")
    assert not (tmp_path / "config").exists()


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["jobs"], {}, "panelflow jobs: no local stack is running"),
        (["jobs", "--api-url", API], {}, "needs the web app's API key"),
        (["whoami", "--api-url", API, "--api-key", "k"], {}, "not logged in to " + API),
        (["jobs", "--api-url", API, "--api-key", "k"], {}, "run 'panelflow login'"),
        (
            ["jobs"],
            {"PANELFLOW_API_URL": API, "PANELFLOW_WEB_API_KEY": "k", "PANELFLOW_UID": "ada"},
            "local stack only",
        ),
        (
            ["--uid", "ada", "show", "j1", "--api-url", API, "--api-key", "k"],
            {},
            "local stack only",
        ),
    ],
)
def test_what_cannot_work_is_one_readable_line(
    auth: FakeIdentity,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(monkeypatch, capsys, *argv)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err, err


def test_a_damaged_credentials_file_says_to_log_in_again(
    auth: FakeIdentity,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "credentials.json").write_text("{")
    code, _, err = run(monkeypatch, capsys, "jobs", "--api-url", API, "--api-key", "k")
    assert code == 1
    assert "damaged: run 'panelflow login'" in err
    code, _, err = run(monkeypatch, capsys, "logout", "--api-url", API, "--api-key", "k")
    assert code == 0 and "deleted the damaged" in err
    assert not (tmp_path / "config" / "credentials.json").exists()


class PollingApi:
    """GET /jobs/{id} answers that move a two-panel job to completed."""

    def __init__(self) -> None:
        self.reads = 0

    def get_job(self, job_id: str) -> dict[str, Any]:
        self.reads += 1
        done = min(self.reads - 1, 2)
        panels = [
            {"index": index, "status": "done" if index < done else "rendering"}
            for index in range(2)
        ]
        status = "completed" if done == 2 else "rendering"
        return {"jobId": job_id, "status": status, "panelCount": 2, "panels": panels}


def test_a_deployed_job_is_followed_by_reading_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.time, "sleep", lambda _seconds: None)
    api, seen = PollingApi(), list[tuple[str, int]]()

    def record(progress: Progress) -> None:
        seen.append((progress.status, progress.count("done")))

    fake: Any = api
    final = cli._poll_job(fake, "j1", record, timeout=60)
    assert final.status == "completed"
    assert seen == [("rendering", 0), ("rendering", 1), ("completed", 2)]


def test_a_finished_jobs_progress_counts_come_from_the_job() -> None:
    """The job's final move and its last panel are one commit, reported by two listeners in
    either order: the progress line of a finished job counts what the job says."""
    progress = Progress(
        job={"status": "completed", "panelCount": 3, "panelsDone": 3, "panelsFailed": 0},
        panels={0: {"status": "done"}, 1: {"status": "done"}, 2: {"status": "rendering"}},
    )
    counts = [progress.count(status) for status in ("done", "rendering", "failed")]
    assert counts == [3, 0, 0]
    # Not while it runs, nor once cancelled (a cancel writes no counts).
    for status in ("rendering", "cancelled"):
        progress.job["status"] = status
        assert (progress.count("done"), progress.count("rendering")) == (2, 1)
