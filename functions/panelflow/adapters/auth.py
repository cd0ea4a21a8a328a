"""Authenticators: turn an Authorization header into the caller's uid."""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from panelflow import logs
from panelflow.domain.errors import PanelflowError, TransientError, Unauthenticated

# Also a Firestore document id (usage/{uid}): no "/", and never "." or "__name__".
_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.:@]{0,127}$")


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("missing Authorization header; send 'Bearer <ID token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <ID token>'")
    return token.strip()


def dev_token(uid: str) -> str:
    """An unsigned token in the Auth emulator's format, for local use only."""

    def part(data: Mapping[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"sub": uid, "user_id": uid, "aud": "panelflow-local", "iss": "panelflow-local"}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


class DevTokenAuthenticator:
    """Accepts unsigned emulator-format tokens; settings refuse it in production."""

    def uid(self, authorization: str | None) -> str:
        token = bearer_token(authorization)
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError) as error:
            raise Unauthenticated("the token is not a JWT") from error
        uid = claims.get("user_id") or claims.get("sub") if isinstance(claims, dict) else None
        if not isinstance(uid, str) or not _UID.match(uid):
            raise Unauthenticated("the token carries no valid user id")
        return uid


class FirebaseAuthenticator:
    """Verifies Firebase ID tokens with firebase-admin (signature, audience, issuer, expiry).

    The firebase_admin app is created on first use with the project id only: checking a
    token needs Google's public certificates, not credentials (``check_revoked`` asks
    Firebase Auth about the user, with the function's own credentials). Under
    ``FIREBASE_AUTH_EMULATOR_HOST`` firebase-admin accepts unsigned tokens, which is why
    production settings refuse every emulator variable.
    """

    def __init__(
        self,
        project_id: str,
        *,
        check_revoked: bool = False,
        verify: Callable[..., Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._project_id = project_id
        self._check_revoked = check_revoked
        self._verify = verify
        self._clock = clock
        self._lock = threading.Lock()

    def _verifier(self) -> Callable[..., Mapping[str, Any]]:
        with self._lock:
            if self._verify is None:
                import firebase_admin
                from firebase_admin import auth

                name = f"panelflow-{self._project_id}"
                try:
                    app = firebase_admin.get_app(name)
                except ValueError:  # not initialised yet in this process
                    app = firebase_admin.initialize_app(
                        options={"projectId": self._project_id}, name=name
                    )
                self._verify = functools.partial(auth.verify_id_token, app=app)
            return self._verify

    def uid(self, authorization: str | None) -> str:
        token = bearer_token(authorization)
        verify = self._verifier()
        try:
            claims = verify(token, check_revoked=self._check_revoked)
        except Exception as error:
            raise _translate_firebase_error(error) from error
        # firebase-admin skips the expiry check for emulator tokens; check it everywhere.
        expires = claims.get("exp")
        if not isinstance(expires, (int, float)) or expires <= self._clock():
            raise Unauthenticated("the ID token has expired; sign in again")
        uid = claims.get("uid") or claims.get("sub")
        if not isinstance(uid, str) or not _UID.match(uid):
            raise Unauthenticated("the token carries no valid user id")
        return uid


def _translate_firebase_error(error: Exception) -> PanelflowError:
    """firebase-admin's errors by type: the caller's token, or a dependency that is down."""
    from firebase_admin import auth, exceptions

    if isinstance(error, auth.ExpiredIdTokenError):
        return Unauthenticated("the ID token has expired; sign in again")
    if isinstance(error, auth.RevokedIdTokenError):
        return Unauthenticated("the ID token was revoked; sign in again")
    if isinstance(error, auth.UserDisabledError):
        return Unauthenticated("this account is disabled")
    if isinstance(error, auth.UserNotFoundError):
        return Unauthenticated("the token's user no longer exists")
    # InvalidIdTokenError, and the other invalid-argument errors (a tenant mismatch).
    if isinstance(error, (auth.InvalidIdTokenError, exceptions.InvalidArgumentError, ValueError)):
        return Unauthenticated("the ID token is not valid")
    if isinstance(error, auth.CertificateFetchError):
        return TransientError("could not fetch the token certificates; try again")
    if isinstance(error, exceptions.FirebaseError):
        # Unavailable, deadline, internal and unknown errors, and a refused revocation
        # check: nothing the caller did wrong.
        logs.warning("token verification failed", error=type(error).__name__)
        return TransientError("could not verify the ID token; try again")
    raise error
