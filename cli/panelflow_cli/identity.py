"""Firebase Auth over its REST API (Identity Toolkit and Secure Token), for the CLI and tools.

The same calls reach Google in production and the Auth emulator locally: only the base URL
differs (``http://HOST:PORT/identitytoolkit.googleapis.com`` under the emulator). The web
client does the same through the Firebase JS SDK.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

IDENTITY_TOOLKIT = "https://identitytoolkit.googleapis.com"
SECURE_TOKEN = "https://securetoken.googleapis.com"
# The Auth emulator accepts any API key; Google needs the web app's key.
EMULATOR_API_KEY = "local-emulator-key"
TIMEOUT_S = 15.0

# Firebase Auth error codes (the first word of error.message) and what a person should read.
MESSAGES = {
    "EMAIL_NOT_FOUND": "no account uses that email",
    "INVALID_PASSWORD": "wrong password",
    "INVALID_LOGIN_CREDENTIALS": "wrong email or password",
    "USER_DISABLED": "this account is disabled",
    "USER_NOT_FOUND": "this account no longer exists",
    "EMAIL_EXISTS": "an account already uses that email",
    "INVALID_EMAIL": "that is not a valid email address",
    "MISSING_EMAIL": "an email address is needed",
    "MISSING_PASSWORD": "a password is needed",
    "WEAK_PASSWORD": "the password is too weak: use at least 6 characters",
    "TOO_MANY_ATTEMPTS_TRY_LATER": "too many attempts: wait a little and try again",
    "TOKEN_EXPIRED": "the sign-in has expired: sign in again",
    "INVALID_REFRESH_TOKEN": "the sign-in is no longer valid: sign in again",
    "OPERATION_NOT_ALLOWED": "this sign-in method is not enabled for the project",
    "INVALID_ID_TOKEN": "the sign-in is no longer valid: sign in again",
    "CREDENTIAL_TOO_OLD_LOGIN_AGAIN": "sign in again to do this",
    "PROJECT_NOT_FOUND": "the Firebase project was not found: check the API key",
    "API_KEY_INVALID": "the web API key is not valid",
}


class IdentityError(RuntimeError):
    """Firebase Auth refused a call; ``code`` is its error code, the message is readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Session:
    """A signed-in user: a short-lived ID token and the refresh token that renews it."""

    uid: str
    id_token: str
    refresh_token: str
    expires_at: float
    email: str = ""
    anonymous: bool = False

    def fresh(self, margin_s: float = 60.0) -> bool:
        return time.time() < self.expires_at - margin_s


class Identity:
    """Signs users in and renews their ID tokens; ``emulator_host`` selects the Auth emulator."""

    def __init__(
        self,
        api_key: str = "",
        *,
        emulator_host: str = "",
        project_id: str = "",
        http: requests.Session | None = None,
    ) -> None:
        if not api_key and not emulator_host:
            raise IdentityError("API_KEY_MISSING", "a Firebase web API key is needed")
        self.api_key = api_key or EMULATOR_API_KEY
        self.emulator_host = emulator_host
        self.project_id = project_id
        self._http = http or requests.Session()
        if emulator_host:
            self._toolkit = f"http://{emulator_host}/identitytoolkit.googleapis.com"
            self._secure_token = f"http://{emulator_host}/securetoken.googleapis.com"
        else:
            self._toolkit, self._secure_token = IDENTITY_TOOLKIT, SECURE_TOKEN

    @classmethod
    def for_stack(cls, env: Mapping[str, str] | None = None) -> Identity:
        """The Auth emulator of the local stack whose environment is ``env`` (default: ours)."""
        env = os.environ if env is None else env
        return cls(
            emulator_host=env["FIREBASE_AUTH_EMULATOR_HOST"], project_id=env["GOOGLE_CLOUD_PROJECT"]
        )

    # ---- sign-in ------------------------------------------------------------------------

    def sign_up_anonymously(self) -> Session:
        return self._session(self._call("accounts:signUp", {"returnSecureToken": True}))

    def sign_up(self, email: str, password: str) -> Session:
        body = {"email": email, "password": password, "returnSecureToken": True}
        return self._session(self._call("accounts:signUp", body))

    def sign_in(self, email: str, password: str) -> Session:
        body = {"email": email, "password": password, "returnSecureToken": True}
        return self._session(self._call("accounts:signInWithPassword", body))

    def link_email(self, session: Session, email: str, password: str) -> Session:
        """Turns a guest into an email account; the uid (and so every comic) stays the same."""
        body = {
            "idToken": session.id_token,
            "email": email,
            "password": password,
            "returnSecureToken": True,
        }
        return self._session(self._call("accounts:update", body))

    def refresh(self, session: Session) -> Session:
        """A new ID token from the refresh token (the Secure Token endpoint)."""
        url = f"{self._secure_token}/v1/token"
        data = {"grant_type": "refresh_token", "refresh_token": session.refresh_token}
        reply = self._post(url, form=data)
        return Session(
            uid=str(reply["user_id"]),
            id_token=str(reply["id_token"]),
            refresh_token=str(reply["refresh_token"]),
            expires_at=time.time() + int(reply.get("expires_in", 3600)),
            email=session.email,
            anonymous=session.anonymous,
        )

    def lookup(self, session: Session) -> dict[str, Any]:
        users = self._call("accounts:lookup", {"idToken": session.id_token}).get("users") or [{}]
        return dict(users[0])

    # ---- the Auth emulator's admin calls (tests and the local stack only) -----------------

    def create_user(self, uid: str, email: str = "", password: str = "") -> None:
        """Creates a user with a chosen uid (Auth emulator only, as its project owner)."""
        body: dict[str, Any] = {"localId": uid}
        if email:
            body.update(email=email, password=password)
        self._admin("accounts", body)

    def update_user(self, uid: str, **fields: Any) -> None:
        self._admin("accounts:update", {"localId": uid, **fields})

    def delete_user(self, uid: str) -> None:
        self._admin("accounts:delete", {"localId": uid})

    def token_for(self, uid: str) -> str:
        """An ID token for ``uid``, creating the user first (Auth emulator only)."""
        return self.session_for(uid).id_token

    def session_for(self, uid: str) -> Session:
        """A session for ``uid``, creating the user first (Auth emulator only)."""
        email, password = f"{uid.lower()}@users.panelflow.test", f"pw-{uid}-local"
        try:
            return self.sign_in(email, password)
        except IdentityError as error:
            if error.code not in ("EMAIL_NOT_FOUND", "INVALID_LOGIN_CREDENTIALS"):
                raise
        self.create_user(uid, email, password)
        return self.sign_in(email, password)

    # ---- plumbing -----------------------------------------------------------------------

    def _admin(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if not self.emulator_host or not self.project_id:
            raise IdentityError("NOT_EMULATOR", "admin calls are for the Auth emulator only")
        url = f"{self._toolkit}/v1/projects/{self.project_id}/{method}"
        return self._post(url, json_body=body, owner=True)

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(f"{self._toolkit}/v1/{method}", json_body=body)

    def _post(
        self,
        url: str,
        *,
        json_body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        owner: bool = False,
    ) -> dict[str, Any]:
        headers = {"Authorization": "Bearer owner"} if owner else {}
        try:
            response = self._http.post(
                url,
                params={"key": self.api_key},
                json=json_body,
                data=form,
                headers=headers,
                timeout=TIMEOUT_S,
            )
        except requests.RequestException as error:
            where = self.emulator_host or url.split("/")[2]
            hint = (
                ": is the local stack running? ('panelflow status')" if self.emulator_host else ""
            )
            raise IdentityError(
                "UNAVAILABLE",
                f"could not reach Firebase Auth at {where} ({type(error).__name__}){hint}",
            ) from error
        try:
            reply = response.json()
        except ValueError:
            reply = {}
        if response.status_code >= 400 or not isinstance(reply, dict):
            raise _error(reply, response.status_code)
        return reply

    def _session(self, reply: dict[str, Any]) -> Session:
        return Session(
            uid=str(reply["localId"]),
            id_token=str(reply["idToken"]),
            refresh_token=str(reply["refreshToken"]),
            expires_at=time.time() + int(reply.get("expiresIn", 3600)),
            email=str(reply.get("email", "")),
            anonymous=not reply.get("email"),
        )


def _error(reply: Any, status: int) -> IdentityError:
    error = reply.get("error", {}) if isinstance(reply, dict) else {}
    raw = str(error.get("message", "")) if isinstance(error, dict) else ""
    code = raw.split(" ", 1)[0].split(":", 1)[0].strip() or f"HTTP_{status}"
    return IdentityError(code, MESSAGES.get(code, f"Firebase Auth refused the request ({code})"))


def emulator_token(uid: str, env: Mapping[str, str] | None = None) -> str:
    """An ID token for ``uid`` from the local stack's Auth emulator (tests, drills, benchmarks)."""
    return Identity.for_stack(env).token_for(uid)
