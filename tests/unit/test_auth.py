"""Firebase ID tokens on the API: FirebaseAuthenticator, its wiring, and production settings.

firebase-admin is exercised for real: with FIREBASE_AUTH_EMULATOR_HOST set it accepts
unsigned emulator tokens without any network call, which is what these tests (and the
local stack) rely on, and why production settings refuse that variable.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from firebase_admin import auth as firebase_auth
from firebase_admin import exceptions as firebase_exceptions
from functions_framework import create_app

from panelflow.adapters.auth import FirebaseAuthenticator
from panelflow.bootstrap import Services
from panelflow.domain.errors import ConfigurationError, TransientError, Unauthenticated
from panelflow.settings import Settings

PROJECT = "demo-unit"
SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"


def emulator_token(uid: str | None = "user-1", **claims: Any) -> str:
    """An unsigned ID token as the Firebase Auth emulator issues it."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(time.time())
    body: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "firebase": {"sign_in_provider": "password", "identities": {}},
    }
    if uid is not None:
        body.update(sub=uid, user_id=uid)
    body.update(claims)
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


def _with_header(token: str, header: dict[str, Any]) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")
    return ".".join([encoded, *token.split(".")[1:]])


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens there: unsigned tokens are checked offline (and the unit tier refuses
    # sockets, so any network call would fail the test).
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")


def bearer(token: str) -> str:
    return f"Bearer {token}"


# ---- FirebaseAuthenticator with the real firebase-admin --------------------------------------


def test_a_valid_emulator_token_gives_its_uid(emulated: None) -> None:
    assert FirebaseAuthenticator(PROJECT).uid(bearer(emulator_token("ada"))) == "ada"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Authorization"),
        ("", "missing Authorization"),
        ("Basic abc", "Bearer"),
        ("Bearer ", "Bearer"),
        ("Bearer garbage", "not valid"),
        ("Bearer a.b.c", "not valid"),
        ("Bearer " + "x" * 5000, "not valid"),
        (bearer(emulator_token(aud="another-project")), "not valid"),
        (bearer(emulator_token(iss="https://securetoken.google.com/other")), "not valid"),
        (bearer(emulator_token(uid=None)), "not valid"),
        (bearer(emulator_token(uid="")), "not valid"),
        (bearer(emulator_token(uid="a/b")), "no valid user id"),
        (bearer(emulator_token(uid="__name__")), "no valid user id"),
        (bearer(emulator_token(exp=int(time.time()) - 1)), "expired"),
        (bearer(emulator_token(exp=1)), "expired"),
        (bearer(emulator_token(exp="tomorrow")), "expired"),
        (bearer(emulator_token(iat=int(time.time()) + 30 * 86400)), "not valid yet"),
        (bearer(emulator_token(auth_time=int(time.time()) + 30 * 86400)), "not valid yet"),
        (bearer(emulator_token(iat=None)), "not valid yet"),
        # Tampered: an emulator token carries no signature, and says so in its header.
        (bearer(emulator_token("ada") + "c2lnbmF0dXJl"), "not valid"),
        (bearer(_with_header(emulator_token("ada"), {"alg": "RS256", "kid": "k"})), "not valid"),
        (bearer(emulator_token("ada")[:-5] + "."), "not valid"),
    ],
)
def test_bad_missing_and_expired_tokens_are_unauthenticated(
    emulated: None, header: str | None, reason: str
) -> None:
    with pytest.raises(Unauthenticated) as refused:
        FirebaseAuthenticator(PROJECT).uid(header)
    assert reason in refused.value.message


def test_firebase_admin_itself_does_not_check_expiry_of_emulator_tokens(emulated: None) -> None:
    """Why FirebaseAuthenticator checks ``exp`` itself: under the emulator firebase-admin
    returns the claims of an expired token unchanged."""
    import firebase_admin

    app = firebase_admin.initialize_app(options={"projectId": PROJECT}, name="expiry-probe")
    try:
        claims = firebase_auth.verify_id_token(emulator_token(exp=1), app=app)
        assert claims["exp"] == 1
    finally:
        firebase_admin.delete_app(app)


def test_without_the_emulator_variable_unsigned_tokens_are_refused() -> None:
    # No FIREBASE_AUTH_EMULATOR_HOST: an unsigned token has no "kid" and no RS256 signature,
    # so firebase-admin refuses it before fetching any certificate.
    with pytest.raises(Unauthenticated):
        FirebaseAuthenticator(PROJECT).uid(bearer(emulator_token("ada")))


# ---- errors are mapped by type ------------------------------------------------------------------


# SDK messages may quote the token (which starts with eyJ).
SDK_MESSAGE = "Wrong number of segments in token: b'eyJhbGciOi'"


def _raising(error: Exception):
    def verify(token: str, *, check_revoked: bool) -> dict[str, Any]:
        raise error

    return verify


@pytest.mark.parametrize(
    ("error", "expected", "text"),
    [
        (firebase_auth.InvalidIdTokenError(SDK_MESSAGE), Unauthenticated, "not valid"),
        (firebase_auth.ExpiredIdTokenError(SDK_MESSAGE, cause=None), Unauthenticated, "expired"),
        (firebase_auth.RevokedIdTokenError(SDK_MESSAGE), Unauthenticated, "revoked"),
        (firebase_auth.UserDisabledError(SDK_MESSAGE), Unauthenticated, "disabled"),
        (firebase_auth.UserNotFoundError(SDK_MESSAGE), Unauthenticated, "no longer exists"),
        (ValueError(SDK_MESSAGE), Unauthenticated, "not valid"),
        (
            firebase_auth.CertificateFetchError(SDK_MESSAGE, cause=None),
            TransientError,
            "certificates",
        ),
        (firebase_exceptions.UnavailableError(SDK_MESSAGE), TransientError, "try again"),
        (firebase_exceptions.DeadlineExceededError(SDK_MESSAGE), TransientError, "try again"),
        (firebase_exceptions.PermissionDeniedError(SDK_MESSAGE), TransientError, "try again"),
    ],
)
def test_firebase_errors_are_translated_by_type(
    error: Exception, expected: type[Exception], text: str
) -> None:
    authenticator = FirebaseAuthenticator(PROJECT, verify=_raising(error))
    with pytest.raises(expected) as caught:
        authenticator.uid("Bearer t")
    assert text in str(caught.value)
    # The message is ours, never the SDK's (which may quote the token).
    assert "eyJ" not in str(caught.value)


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_revocation_check_is_passed_through() -> None:
    seen: list[bool] = []

    def verify(token: str, *, check_revoked: bool) -> dict[str, Any]:
        seen.append(check_revoked)
        claims = _claims(emulator_token("ada"))
        return {**claims, "uid": claims["sub"]}

    assert (
        FirebaseAuthenticator(PROJECT, check_revoked=True, verify=verify).uid("Bearer t") == "ada"
    )
    assert FirebaseAuthenticator(PROJECT, verify=verify).uid("Bearer t") == "ada"
    assert seen == [True, False]


# ---- wiring and settings ------------------------------------------------------------------------


def test_bootstrap_always_wires_firebase_auth_with_the_revocation_check() -> None:
    settings = Settings.from_env({"GOOGLE_CLOUD_PROJECT": PROJECT})
    assert isinstance(Services(settings).authenticator, FirebaseAuthenticator)
    assert settings.check_revoked is True
    unchecked = {"GOOGLE_CLOUD_PROJECT": PROJECT, "PANELFLOW_AUTH_CHECK_REVOKED": "false"}
    assert Settings.from_env(unchecked).check_revoked is False
    # The answer is remembered per user for 10 s unless told otherwise; 0 asks every time.
    assert settings.auth_account_ttl_s == 10
    every = {"GOOGLE_CLOUD_PROJECT": PROJECT, "PANELFLOW_AUTH_ACCOUNT_TTL_S": "0"}
    assert Settings.from_env(every).auth_account_ttl_s == 0
    with pytest.raises(ConfigurationError):
        Settings.from_env({"GOOGLE_CLOUD_PROJECT": PROJECT, "PANELFLOW_AUTH_ACCOUNT_TTL_S": "-1"})


def test_remembered_accounts_are_checked_here_and_bounded(monkeypatch) -> None:
    from panelflow.adapters import auth as auth_module

    monkeypatch.setattr(auth_module, "REMEMBERED_ACCOUNTS", 3)
    seen: list[bool] = []
    asked: list[str] = []

    def verify(token: str, *, check_revoked: bool) -> dict[str, Any]:
        seen.append(check_revoked)
        claims = _claims(emulator_token(token))
        return {**claims, "uid": claims["sub"]}

    def lookup(uid: str) -> auth_module.Account:
        asked.append(uid)
        return auth_module.Account(disabled=uid == "off", valid_after=0)

    remembering = FirebaseAuthenticator(
        PROJECT, check_revoked=True, account_ttl_s=10, verify=verify, lookup=lookup
    )
    for uid in ("a", "b", "a", "c", "d", "a", "b"):
        assert remembering.uid(f"Bearer {uid}") == uid
    # firebase-admin is not asked to look up: the remembered answer is the check.
    assert set(seen) == {False}
    # Three remembered at most, the least recently seen forgotten first ("b" went at "d").
    assert asked == ["a", "b", "c", "d", "b"]
    with pytest.raises(Unauthenticated, match="disabled"):
        remembering.uid("Bearer off")
    # Without the revocation check nothing is remembered or looked up.
    asked.clear()
    plain = FirebaseAuthenticator(PROJECT, account_ttl_s=10, verify=verify, lookup=lookup)
    assert plain.uid("Bearer a") == "a" and asked == []


def test_the_removed_dev_auth_switch_is_refused_by_name() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({"GOOGLE_CLOUD_PROJECT": PROJECT, "PANELFLOW_AUTH": "dev"})
    assert refused.value.field == "PANELFLOW_AUTH"


@pytest.mark.parametrize("declared", ["local", None])
def test_on_cloud_run_the_settings_are_production_whatever_panelflow_env_says(
    declared: str | None,
) -> None:
    env = {"GOOGLE_CLOUD_PROJECT": "p", "K_SERVICE": "panelflow-api"}
    if declared:
        env["PANELFLOW_ENV"] = declared
    assert Settings.from_env(env).production
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({**env, "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"})
    assert refused.value.field == "FIREBASE_AUTH_EMULATOR_HOST"
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({**env, "DATASTORE_EMULATOR_HOST": "127.0.0.1:1"})
    assert refused.value.field == "DATASTORE_EMULATOR_HOST"


def test_functions_framework_alone_does_not_make_production() -> None:
    # functions-framework sets FUNCTION_TARGET itself on any machine, the local stack included.
    env = {"GOOGLE_CLOUD_PROJECT": "p", "FUNCTION_TARGET": "api"}
    assert not Settings.from_env(env).production


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}, "FIREBASE_AUTH_EMULATOR_HOST"),
        ({"FIRESTORE_EMULATOR_HOST": "127.0.0.1:8080"}, "FIRESTORE_EMULATOR_HOST"),
        ({"STORAGE_EMULATOR_HOST": "http://127.0.0.1:9023"}, "STORAGE_EMULATOR_HOST"),
        ({"PUBSUB_EMULATOR_HOST": "127.0.0.1:8085"}, "PUBSUB_EMULATOR_HOST"),
        ({"PANELFLOW_SIGNING_KEY_FILE": "/dev/null"}, "PANELFLOW_SIGNING_KEY_FILE"),
    ],
)
def test_production_refuses_emulators_and_local_signing_keys(
    extra: dict[str, str], field: str
) -> None:
    env = {"GOOGLE_CLOUD_PROJECT": "p", "PANELFLOW_ENV": "production", **extra}
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env)
    assert refused.value.field == field


# ---- the API with Firebase auth -----------------------------------------------------------------


@pytest.fixture
def firebase_client(services: Services, emulated: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(services, "authenticator", FirebaseAuthenticator(PROJECT))
    return create_app("api", str(SOURCE), "http").test_client()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer not-a-token",
        bearer(emulator_token("ada", exp=int(time.time()) - 10)),
        bearer(emulator_token("ada", aud="elsewhere")),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs"),
        ("POST", "/jobs"),
        ("GET", "/jobs/abc"),
        ("POST", "/jobs/abc:cancel"),
        ("POST", "/jobs/abc:retry"),
        ("POST", "/jobs/abc/panels/0:regenerate"),
    ],
)
def test_every_jobs_route_answers_401_json_without_a_valid_token(
    firebase_client, services: Services, header: str | None, method: str, path: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = firebase_client.open(
        path, method=method, headers=headers, json={"story": "Ada met Bo."}
    )
    assert response.status_code == 401
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "unauthenticated" and error["message"]
    assert services.store.jobs == {}


def test_a_valid_firebase_token_reaches_the_routes(firebase_client, services: Services) -> None:
    headers = {"Authorization": bearer(emulator_token("ada"))}
    created = firebase_client.post("/jobs", json={"story": "Ada met Bo."}, headers=headers)
    assert created.status_code == 202
    assert services.store.get_job(created.get_json()["jobId"]).owner_uid == "ada"
    assert firebase_client.get("/jobs", headers=headers).get_json()["jobs"][0]["ownerUid"] == "ada"
    assert firebase_client.get("/healthz").status_code == 200  # no token needed


def test_a_verification_outage_is_503_with_retry_after(services: Services, monkeypatch) -> None:
    failing = FirebaseAuthenticator(
        PROJECT, verify=_raising(firebase_auth.CertificateFetchError(SDK_MESSAGE, cause=None))
    )
    monkeypatch.setattr(services, "authenticator", failing)
    client = create_app("api", str(SOURCE), "http").test_client()
    response = client.get("/jobs", headers={"Authorization": "Bearer t"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "unavailable"
