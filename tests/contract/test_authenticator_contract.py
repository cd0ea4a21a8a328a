"""The Authenticator port: FakeAuthenticator and FirebaseAuthenticator against the real Auth
emulator pass the same assertions, then the emulator's whole matrix of bad tokens.

Tokens here are issued by the Firebase Auth emulator over its REST API, exactly as the web
client and the CLI get them; nothing is hand-made except the tampered variants.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fakes.auth import FakeAuthenticator, fake_token
from panelflow.adapters.auth import FirebaseAuthenticator
from panelflow.domain.errors import Unauthenticated
from panelflow_cli.identity import Identity

pytestmark = pytest.mark.emulators


@dataclass
class Subject:
    """An authenticator with the means to issue and to disable its users' tokens."""

    authenticator: Any
    token: Callable[[str], str]
    disable: Callable[[str], None]


@pytest.fixture
def identity(emulator_env: dict[str, str]) -> Identity:
    return Identity.for_stack(emulator_env)


@pytest.fixture(params=["fake", "firebase"])
def subject(request: pytest.FixtureRequest, emulator_env: dict[str, str]) -> Iterator[Subject]:
    if request.param == "fake":
        fake = FakeAuthenticator()
        yield Subject(fake, fake_token, fake.disabled.add)
        return
    identity = request.getfixturevalue("identity")
    real = FirebaseAuthenticator(emulator_env["GOOGLE_CLOUD_PROJECT"], check_revoked=True)
    yield Subject(real, identity.token_for, lambda uid: identity.update_user(uid, disableUser=True))


def _uid() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


# ---- the contract: both authenticators --------------------------------------------------------


def test_a_valid_token_gives_its_users_uid(subject: Subject) -> None:
    first, second = _uid(), _uid()
    assert subject.authenticator.uid(f"Bearer {subject.token(first)}") == first
    assert subject.authenticator.uid(f"Bearer {subject.token(second)}") == second


@pytest.mark.parametrize(
    "header", [None, "", "Basic abc", "Bearer ", "Bearer garbage", "Bearer a.b.c"]
)
def test_missing_and_malformed_tokens_are_refused(subject: Subject, header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        subject.authenticator.uid(header)


def test_a_disabled_user_is_refused(subject: Subject) -> None:
    uid = _uid()
    token = subject.token(uid)
    assert subject.authenticator.uid(f"Bearer {token}") == uid
    subject.disable(uid)
    with pytest.raises(Unauthenticated) as refused:
        subject.authenticator.uid(f"Bearer {token}")
    assert "disabled" in refused.value.message


# ---- the Auth emulator's matrix ------------------------------------------------------------


def _edit(token: str, **claims: Any) -> str:
    """The same token with some claims changed (the emulator's tokens are unsigned)."""
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims)
    encoded = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    return f"{header}.{encoded}.{signature}"


@pytest.fixture
def real(emulator_env: dict[str, str]) -> FirebaseAuthenticator:
    return FirebaseAuthenticator(emulator_env["GOOGLE_CLOUD_PROJECT"], check_revoked=True)


NOW = int(time.time())
BAD_TOKENS: dict[str, Callable[[str], str]] = {
    "expired": lambda token: _edit(token, exp=NOW - 7200),
    "not yet valid": lambda token: _edit(token, iat=NOW + 30 * 86400, auth_time=NOW + 30 * 86400),
    "another project": lambda token: _edit(token, aud="demo-another"),
    "another issuer": lambda token: _edit(token, iss="https://securetoken.google.com/demo-x"),
    "another uid shape": lambda token: _edit(token, sub="a/b", user_id="a/b"),
    "tampered signature": lambda token: token + "AAAA",
    "tampered header": lambda token: "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ." + token.split(".", 1)[1],
    "truncated": lambda token: token[: len(token) // 2],
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_emulator_tokens_are_refused(
    case: str, identity: Identity, real: FirebaseAuthenticator
) -> None:
    uid = _uid()
    token = identity.token_for(uid)
    assert real.uid(f"Bearer {token}") == uid  # the token itself is good
    with pytest.raises(Unauthenticated):
        real.uid(f"Bearer {BAD_TOKENS[case](token)}")


def test_a_guest_keeps_its_uid_when_it_links_an_email(
    identity: Identity, real: FirebaseAuthenticator
) -> None:
    guest = identity.sign_up_anonymously()
    assert real.uid(f"Bearer {guest.id_token}") == guest.uid
    linked = identity.link_email(guest, f"{guest.uid.lower()}@example.test", "a-good-password")
    assert linked.uid == guest.uid and not linked.anonymous
    assert real.uid(f"Bearer {identity.refresh(linked).id_token}") == guest.uid


# ---- remembered accounts (PANELFLOW_AUTH_ACCOUNT_TTL_S) -------------------------------------


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The uids firebase-admin is asked about (the real call still goes to the emulator)."""
    from firebase_admin import auth

    asked: list[str] = []
    get_user = auth.get_user

    def counted(uid: str, app: Any = None) -> Any:
        asked.append(uid)
        return get_user(uid, app=app)

    monkeypatch.setattr(auth, "get_user", counted)
    return asked


def _remembering(emulator_env: dict[str, str], clock: Clock) -> FirebaseAuthenticator:
    project = emulator_env["GOOGLE_CLOUD_PROJECT"]
    return FirebaseAuthenticator(project, check_revoked=True, account_ttl_s=10, clock=clock)


def test_a_remembered_account_costs_one_lookup_until_it_is_old(
    emulator_env: dict[str, str], identity: Identity, lookups: list[str]
) -> None:
    clock = Clock()
    real = _remembering(emulator_env, clock)
    uid = _uid()
    token = identity.token_for(uid)
    for _ in range(5):
        assert real.uid(f"Bearer {token}") == uid
    assert lookups == [uid]
    identity.update_user(uid, disableUser=True)
    # Within the 10 s the answer is remembered: the documented window.
    clock.offset = 9
    assert real.uid(f"Bearer {token}") == uid
    clock.offset = 10.5
    with pytest.raises(Unauthenticated) as refused:
        real.uid(f"Bearer {token}")
    assert "disabled" in refused.value.message
    assert lookups == [uid, uid]


def test_a_signed_out_users_old_token_is_refused_and_a_new_one_accepted(
    emulator_env: dict[str, str], identity: Identity
) -> None:
    clock = Clock()
    remembering = _remembering(emulator_env, clock)
    asking = FirebaseAuthenticator(emulator_env["GOOGLE_CLOUD_PROJECT"], check_revoked=True)
    uid = _uid()
    old = identity.token_for(uid)
    issued = int(_claims(old)["iat"])
    assert remembering.uid(f"Bearer {old}") == uid
    # Signed out everywhere: tokens issued before this second are revoked.
    identity.update_user(uid, validSince=str(issued + 1))
    with pytest.raises(Unauthenticated) as refused:
        asking.uid(f"Bearer {old}")
    assert "revoked" in refused.value.message
    clock.offset = 11
    with pytest.raises(Unauthenticated) as refused:
        remembering.uid(f"Bearer {old}")
    assert "revoked" in refused.value.message
    while int(time.time()) <= issued + 1:
        time.sleep(0.1)
    new = identity.token_for(uid)
    assert int(_claims(new)["iat"]) >= issued + 1
    # The remembered answer (signed out at issued + 1) lets the new token through.
    assert remembering.uid(f"Bearer {new}") == uid
    assert asking.uid(f"Bearer {new}") == uid


@pytest.mark.parametrize("remembering", [False, True], ids=["asking", "remembering"])
def test_a_deleted_user_is_refused_at_once(
    remembering: bool, emulator_env: dict[str, str], identity: Identity, lookups: list[str]
) -> None:
    """Deleted in Firebase Auth (asking on every request), or through this instance, which
    forgets the account it remembered."""
    project = emulator_env["GOOGLE_CLOUD_PROJECT"]
    real = (
        _remembering(emulator_env, Clock())
        if remembering
        else FirebaseAuthenticator(project, check_revoked=True)
    )
    uid = _uid()
    token = identity.token_for(uid)
    assert real.uid(f"Bearer {token}") == uid
    (real.delete_user if remembering else identity.delete_user)(uid)
    with pytest.raises(Unauthenticated) as refused:
        real.uid(f"Bearer {token}")
    assert "no longer exists" in refused.value.message
    if remembering:  # looked up again, not answered from what it remembered
        assert lookups == [uid, uid]


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
