"""The CLI's credential store: file mode, keying by target, damaged files; no network."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from panelflow_cli.credentials import (
    CredentialsError,
    CredentialStore,
    SignedIn,
    Target,
    config_dir,
    project_of,
)
from panelflow_cli.identity import Session

LOCAL = Target("http://127.0.0.1:8080", "demo-panelflow", emulator_host="127.0.0.1:9099")
DEPLOYED = Target("https://api.panelflow.example", "panelflow-prod", api_key="web-key")


def session(uid: str = "ada", expires_in: float = 3600.0, **fields: object) -> Session:
    values: dict[str, Any] = {
        "uid": uid,
        "id_token": f"id-{uid}",
        "refresh_token": f"refresh-{uid}",
        "expires_at": time.time() + expires_in,
        "email": f"{uid}@example.com",
    }
    values.update(fields)
    return Session(**values)


@pytest.fixture
def store(tmp_path: Path) -> CredentialStore:
    return CredentialStore(tmp_path / "config" / "panelflow")


def stored(store: CredentialStore, target: Target) -> Session:
    login = store.get(target)
    assert login is not None
    return login


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_is_created_0600_in_a_0700_directory_whatever_the_umask(
    store: CredentialStore,
) -> None:
    previous = os.umask(0)
    try:
        store.put(LOCAL, session())
    finally:
        os.umask(previous)
    assert mode(store.path) == 0o600
    assert mode(store.directory) == 0o700
    assert [path.name for path in store.directory.iterdir()] == ["credentials.json"]


def test_a_rewrite_keeps_0600_even_if_the_old_file_was_opened_up(store: CredentialStore) -> None:
    store.put(LOCAL, session())
    store.path.chmod(0o644)
    store.put(DEPLOYED, session("bob"))
    assert mode(store.path) == 0o600


def test_a_login_round_trips(store: CredentialStore) -> None:
    stored = session(anonymous=False)
    store.put(DEPLOYED, stored)
    assert CredentialStore(store.directory).get(DEPLOYED) == stored


def test_logins_are_keyed_by_api_url_and_project(store: CredentialStore) -> None:
    store.put(LOCAL, session("local-user"))
    store.put(DEPLOYED, session("prod-user"))
    other_project = Target(DEPLOYED.api_url, "panelflow-staging", api_key="web-key")
    other_api = Target("https://api.elsewhere.example", DEPLOYED.project, api_key="web-key")
    assert stored(store, LOCAL).uid == "local-user"
    assert stored(store, DEPLOYED).uid == "prod-user"
    assert store.get(other_project) is None
    assert store.get(other_api) is None


def test_an_unnamed_project_finds_the_only_login_for_that_api(store: CredentialStore) -> None:
    store.put(DEPLOYED, session("prod-user"))
    unnamed = Target(DEPLOYED.api_url, "", api_key="web-key")
    assert stored(store, unnamed).uid == "prod-user"
    store.put(Target(DEPLOYED.api_url, "panelflow-staging", api_key="k"), session("stage"))
    assert store.get(unnamed) is None  # two candidates: ambiguous, so none


def test_a_new_local_stack_login_replaces_older_local_ones(store: CredentialStore) -> None:
    store.put(LOCAL, session("first"))
    store.put(DEPLOYED, session("prod-user"))
    restarted = Target("http://127.0.0.1:9191", LOCAL.project, emulator_host="127.0.0.1:9292")
    store.put(restarted, session("second"))
    assert store.get(LOCAL) is None
    assert stored(store, restarted).uid == "second"
    assert stored(store, DEPLOYED).uid == "prod-user"


def test_removing_the_last_login_deletes_the_file(store: CredentialStore) -> None:
    store.put(LOCAL, session())
    store.put(DEPLOYED, session("bob"))
    assert store.remove(LOCAL) is True
    assert store.path.exists() and store.get(DEPLOYED) is not None
    assert store.remove(LOCAL) is False
    assert store.remove(DEPLOYED) is True
    assert not store.path.exists()


@pytest.mark.parametrize(
    "content",
    [
        '{"version": 1, "logins": {"x": 3',
        "",
        "[]",
        '{"version": 99, "logins": {}}',
        '{"version": 1, "logins": []}',
        '{"version": 1, "logins": {"k": {"uid": "ada"}}}',
        '{"version": 1, "logins": {"k": {"uid": "a", "idToken": "i", "refreshToken": "r", '
        '"expiresAt": "soon"}}}',
    ],
)
def test_a_damaged_file_says_to_log_in_again(store: CredentialStore, content: str) -> None:
    store.directory.mkdir(parents=True)
    store.path.write_text(content)
    with pytest.raises(CredentialsError, match=r"damaged: run 'panelflow login'"):
        store.get(LOCAL)


def test_logging_in_over_a_damaged_file_replaces_it(store: CredentialStore) -> None:
    store.directory.mkdir(parents=True)
    store.path.write_text("not json")
    store.put(LOCAL, session())
    assert store.get(LOCAL) is not None
    assert mode(store.path) == 0o600


def test_remove_all_deletes_even_a_damaged_file(store: CredentialStore) -> None:
    assert store.remove_all() is False
    store.directory.mkdir(parents=True)
    store.path.write_text("not json")
    assert store.remove_all() is True
    assert not store.path.exists()


def test_config_dir_precedence() -> None:
    assert config_dir({"PANELFLOW_CONFIG_DIR": "/a", "XDG_CONFIG_HOME": "/b"}) == Path("/a")
    assert config_dir({"XDG_CONFIG_HOME": "/b"}) == Path("/b/panelflow")
    assert config_dir({}) == Path.home() / ".config" / "panelflow"


def test_project_of_reads_the_audience_of_an_id_token() -> None:
    claims = base64.urlsafe_b64encode(json.dumps({"aud": "panelflow-prod"}).encode())
    token = f"eyJhbGciOiJub25lIn0.{claims.decode().rstrip('=')}."
    assert project_of(token) == "panelflow-prod"
    assert project_of("not-a-token") == ""


class FakeIdentity:
    """Stands in for Identity.refresh: records the sessions it renewed."""

    def __init__(self) -> None:
        self.refreshed: list[Session] = []

    def refresh(self, old: Session) -> Session:
        self.refreshed.append(old)
        return session(old.uid, id_token=f"renewed-{len(self.refreshed)}")


def test_a_token_near_expiry_is_refreshed_and_stored(store: CredentialStore) -> None:
    identity: Any = FakeIdentity()
    signed = SignedIn(LOCAL, session(expires_in=30.0), store=store, identity=identity)
    assert signed() == "renewed-1"
    assert signed() == "renewed-1"  # fresh now: no second refresh
    assert len(identity.refreshed) == 1
    assert stored(store, LOCAL).id_token == "renewed-1"


def test_a_fresh_token_is_used_as_is(store: CredentialStore) -> None:
    identity: Any = FakeIdentity()
    signed = SignedIn(LOCAL, session(expires_in=120.0), store=store, identity=identity)
    assert signed() == "id-ada"
    assert identity.refreshed == [] and not store.path.exists()


def test_a_login_found_by_api_url_alone_is_renewed_in_its_own_place(
    store: CredentialStore,
) -> None:
    store.put(DEPLOYED, session("prod-user", expires_in=10.0))
    found = store.find(Target(DEPLOYED.api_url, "", api_key="web-key"))
    assert found is not None
    target, login = found
    assert target.key == DEPLOYED.key
    identity: Any = FakeIdentity()
    assert SignedIn(target, login, store=store, identity=identity)() == "renewed-1"
    logins = json.loads(store.path.read_text())["logins"]
    assert list(logins) == [DEPLOYED.key]
    assert store.remove(Target(DEPLOYED.api_url, "", api_key="web-key")) is True
    assert not store.path.exists()
