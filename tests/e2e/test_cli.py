"""The panelflow command as a user runs it, in its own processes."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from panelflow_cli.stack import LocalStack

pytestmark = pytest.mark.stack

CLI = [sys.executable, "-m", "panelflow_cli.main"]
STORY = "Ana found a map. Leo packed the bags. They walked all day. At the top was a garden."


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test signs in with a credentials file of its own, never the developer's."""
    config = tmp_path / "config"
    monkeypatch.setenv("PANELFLOW_CONFIG_DIR", str(config))
    return config


def _run(
    args: list[str], env: dict[str, str], timeout: float = 180, stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        CLI + args,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _cli_env(stack: LocalStack, uid: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env["PANELFLOW_STATE_DIR"] = str(stack.state_dir)
    if uid:
        env["PANELFLOW_UID"] = uid
    return env


def _credentials(env: dict[str, str]) -> Path:
    return Path(env["PANELFLOW_CONFIG_DIR"]) / "credentials.json"


def _only_login(env: dict[str, str]) -> dict[str, Any]:
    logins = json.loads(_credentials(env).read_text())["logins"]
    assert len(logins) == 1, logins
    return dict(next(iter(logins.values())))


def _email() -> str:
    return f"reader-{uuid.uuid4().hex[:8]}@example.com"


def test_generate_follow_json_writes_a_reader(local_stack: LocalStack, tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text(
        'Ana found a map. "It leads to the hill," Ana said. Leo packed the bags. '
        "They walked all day. At the top they found a garden."
    )
    result = _run(
        ["generate", "--file", str(story), "--panels", "4", "--follow", "--json"],
        _cli_env(local_stack, "gina"),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {"jobId", "status", "panels", "panelsDone", "panelsFailed", "reader"}
    assert summary["status"] == "completed"
    assert (summary["panels"], summary["panelsDone"], summary["panelsFailed"]) == (4, 4, 0)
    # The progress bar was fed by the listener panel by panel.
    assert re.search(r"\[#+-+\] [123]/4 panels", result.stderr), result.stderr

    reader = Path(summary["reader"])
    page = reader.read_text()
    # The page draws itself from the comic's data (tests/e2e/test_reader.py opens it).
    data = json.loads(
        re.search(r'<script type="application/json" id="comic-data">(.*?)</script>', page, re.S)[1]
    )
    images = [panel["localImage"] for panel in data["panels"]]
    audios = [panel["localAudio"] for panel in data["panels"]]
    assert len(images) == 4 and len(audios) == 4
    for src in images:
        with Image.open(reader.parent / src) as image:
            assert image.size == (768, 512)
    assert all((reader.parent / src).stat().st_size > 1000 for src in audios)

    # Another device picks the same job up by id and sees the same result.
    watched = _run(["watch", summary["jobId"], "--json", "--quiet"], _cli_env(local_stack, "gina"))
    assert watched.returncode == 0, watched.stderr
    assert json.loads(watched.stdout.strip().splitlines()[-1])["jobId"] == summary["jobId"]
    listed = _run(["jobs", "--json"], _cli_env(local_stack, "gina"))
    assert summary["jobId"] in [job["jobId"] for job in json.loads(listed.stdout)]
    # A different user cannot watch it.
    assert _run(["watch", summary["jobId"]], _cli_env(local_stack, "hank")).returncode == 1


def test_generate_rejects_bad_input_with_field_and_reason(local_stack: LocalStack) -> None:
    result = _run(["generate", "   ", "--json"], _cli_env(local_stack, "ivy"))
    assert result.returncode == 2
    assert "rejected: story: must not be empty" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] == 400


def test_demo_runs_the_whole_job_and_stops_the_stack(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env["PANELFLOW_STATE_DIR"] = str(tmp_path / "state")
    result = _run(["demo", "--panels", "4"], env, timeout=240)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed" and summary["panelsDone"] == 4
    assert Path(summary["reader"]).is_file()
    assert not (tmp_path / "state" / "stack.json").exists()
    assert not (tmp_path / "state" / "local.env").exists()


def test_login_with_sign_up_then_whoami_then_logout(local_stack: LocalStack) -> None:
    env, email = _cli_env(local_stack), _email()
    login = _run(
        ["login", "--sign-up", "--email", email, "--password-stdin"], env, stdin="pw-12345\n"
    )
    assert login.returncode == 0, login.stderr
    assert f"logged in as {email}" in login.stderr

    whoami = _run(["whoami", "--json"], env)
    assert whoami.returncode == 0, whoami.stderr
    who = json.loads(whoami.stdout)
    assert who["user"] == email and who["uid"]
    assert (who["api"], who["project"], who["localStack"]) == (
        local_stack.env["PANELFLOW_API_URL"],
        local_stack.env["GOOGLE_CLOUD_PROJECT"],
        True,
    )
    assert stat.S_IMODE(_credentials(env).stat().st_mode) == 0o600
    assert _only_login(env)["uid"] == who["uid"]

    # Signing in again (as from another machine) finds the same account.
    _credentials(env).unlink()
    again = _run(["login", "--email", email, "--password-stdin"], env, stdin="pw-12345\n")
    assert again.returncode == 0, again.stderr
    assert json.loads(_run(["whoami", "--json"], env).stdout)["uid"] == who["uid"]

    logout = _run(["logout"], env)
    assert logout.returncode == 0, logout.stderr
    assert not _credentials(env).exists()
    nobody = _run(["whoami"], env)
    assert nobody.returncode == 1 and "not logged in" in nobody.stderr


@pytest.mark.parametrize(
    ("known_email", "message"), [(True, "wrong password"), (False, "no account uses that email")]
)
def test_a_refused_login_is_one_line_exit_1_and_stores_nothing(
    local_stack: LocalStack, known_email: bool, message: str
) -> None:
    env, email = _cli_env(local_stack), _email()
    if known_email:
        signed_up = _run(
            ["login", "--sign-up", "--email", email, "--password-stdin"], env, stdin="right-pw\n"
        )
        assert signed_up.returncode == 0, signed_up.stderr
        _credentials(env).unlink()
    result = _run(["login", "--email", email, "--password-stdin"], env, stdin="wrong-pw\n")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"panelflow login: {message}"]
    assert not _credentials(env).exists()
    assert not _credentials(env).parent.exists() or not any(_credentials(env).parent.iterdir())


def test_with_nobody_logged_in_the_local_stack_signs_a_guest_in(local_stack: LocalStack) -> None:
    env = _cli_env(local_stack)
    assert not _credentials(env).exists()
    generated = _run(["generate", STORY, "--panels", "2", "--json"], env)
    assert generated.returncode == 0, generated.stderr
    assert "signed in as a new guest" in generated.stderr
    job_id = json.loads(generated.stdout.strip().splitlines()[-1])["jobId"]
    guest = _only_login(env)
    assert guest["anonymous"] is True
    assert stat.S_IMODE(_credentials(env).stat().st_mode) == 0o600

    # The next command reuses the stored guest: same user, so it sees the job.
    listed = _run(["jobs", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    assert "new guest" not in listed.stderr
    assert job_id in [job["jobId"] for job in json.loads(listed.stdout)]
    who = json.loads(_run(["whoami", "--json"], env).stdout)
    assert (who["uid"], who["user"]) == (guest["uid"], "guest")

    # Signing up as that guest keeps the uid, and so the comics.
    email = _email()
    upgraded = _run(
        ["login", "--sign-up", "--email", email, "--password-stdin"], env, stdin="pw-12345\n"
    )
    assert upgraded.returncode == 0, upgraded.stderr
    who = json.loads(_run(["whoami", "--json"], env).stdout)
    assert (who["uid"], who["user"]) == (guest["uid"], email)


def _without_signatures(value: Any) -> Any:
    """The job minus what changes on every read: signed URLs' query strings and expiries."""
    if isinstance(value, dict):
        return {
            key: urlsplit(item)._replace(query="").geturl()
            if key == "url"
            else _without_signatures(item)
            for key, item in value.items()
            if key != "expiresAt"
        }
    if isinstance(value, list):
        return [_without_signatures(item) for item in value]
    return value


def test_show_prints_the_job_as_the_api_returns_it(local_stack: LocalStack) -> None:
    env = _cli_env(local_stack)
    generated = _run(["generate", STORY, "--panels", "2", "--follow", "--json", "--quiet"], env)
    assert generated.returncode == 0, generated.stderr
    job_id = json.loads(generated.stdout.strip().splitlines()[-1])["jobId"]

    shown = _run(["show", job_id], env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("{\n  ")  # pretty by default
    compact = _run(["show", job_id, "--compact"], env)
    assert compact.returncode == 0, compact.stderr
    assert len(compact.stdout.strip().splitlines()) == 1

    token = _only_login(env)["idToken"]
    response = requests.get(
        f"{local_stack.env['PANELFLOW_API_URL']}/jobs/{job_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    from_api = response.json()
    assert from_api["status"] == "completed" and len(from_api["panels"]) == 2
    for printed in (shown.stdout, compact.stdout):
        assert _without_signatures(json.loads(printed)) == _without_signatures(from_api)

    missing = _run(["show", "no-such-job"], env)
    assert missing.returncode == 1 and "not_found" in missing.stderr


def test_an_expired_id_token_is_refreshed_and_stored(local_stack: LocalStack) -> None:
    env = _cli_env(local_stack)
    assert _run(["login", "--guest"], env).returncode == 0
    path = _credentials(env)
    data = json.loads(path.read_text())
    login = next(iter(data["logins"].values()))
    # A token the API would refuse, marked expired: only a refresh makes the next call work.
    login.update(idToken="expired.token.", expiresAt=time.time() - 10)
    path.write_text(json.dumps(data))

    listed = _run(["jobs", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    renewed = _only_login(env)
    assert renewed["uid"] == login["uid"]
    assert renewed["idToken"] != "expired.token."
    assert renewed["expiresAt"] > time.time() + 3000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_credentials_file_says_to_log_in_again(local_stack: LocalStack) -> None:
    env = _cli_env(local_stack)
    path = _credentials(env)
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1, "logins": {')
    result = _run(["jobs"], env)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "damaged" in line and "panelflow login" in line
    assert _run(["login", "--guest"], env).returncode == 0
    assert _run(["jobs"], env).returncode == 0


def test_unreachable_auth_and_uid_outside_the_local_stack_are_one_line(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    local_env = (local_stack.state_dir / "local.env").read_text()
    # The same stack, but its Auth emulator address points at a closed port.
    (state / "local.env").write_text(
        re.sub(
            r"(?m)^FIREBASE_AUTH_EMULATOR_HOST=.*$",
            "FIREBASE_AUTH_EMULATOR_HOST=127.0.0.1:9",
            local_env,
        )
    )
    env = {**_cli_env(local_stack), "PANELFLOW_STATE_DIR": str(state)}
    for args in (["jobs"], ["login", "--guest"]):
        result = _run(args, env)
        assert result.returncode == 1
        (line,) = result.stderr.strip().splitlines()
        assert "could not reach Firebase Auth at 127.0.0.1:9" in line

    deployed = {
        **_cli_env(local_stack, "ada"),
        "PANELFLOW_STATE_DIR": str(tmp_path / "no-stack"),
        "PANELFLOW_API_URL": "https://api.panelflow.example",
        "PANELFLOW_WEB_API_KEY": "web-key",
    }
    result = _run(["jobs"], deployed)
    assert result.returncode == 1
    assert "local stack only" in result.stderr.strip()
