"""Authenticators: turn an Authorization header into the caller's uid."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from panelflow import logs
from panelflow.domain.errors import PanelflowError, TransientError, Unauthenticated

# Also a Firestore document id (usage/{uid}): no "/", and never "." or "__name__".
UID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.:@]{0,127}")
# Seconds of clock difference tolerated between Firebase Auth and this instance.
CLOCK_SKEW_S = 30
# Accounts an instance remembers at most (least recently seen forgotten first).
REMEMBERED_ACCOUNTS = 4096


@dataclass(frozen=True)
class Account:
    """What the revocation check needs of a Firebase Auth user record."""

    disabled: bool
    # Tokens issued before this time (seconds since the epoch) are revoked (signed out).
    valid_after: float


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("missing Authorization header; send 'Bearer <ID token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <ID token>'")
    return token.strip()


class FirebaseAuthenticator:
    """Verifies Firebase ID tokens with firebase-admin, in production and locally alike.

    firebase-admin checks Google's signature, the audience and issuer (this project) and the
    expiry. Under ``FIREBASE_AUTH_EMULATOR_HOST`` (the local stack) it skips the signature and
    the times, so the claims are checked here too, in every environment: expiry, issue and
    sign-in times, audience, issuer and a well-formed uid; and an emulator token must be
    exactly what the emulator issues (unsigned). Production settings refuse every emulator
    variable, so that path never trusts an unsigned token there. ``check_revoked`` also asks
    Firebase Auth (or its emulator) whether the user was disabled, deleted or signed out.

    That lookup is a network call to Firebase Auth per request. With ``account_ttl_s`` an
    instance remembers each user's answer (disabled, signed out since) that long and checks
    every token against it, so a burst of requests costs one lookup; a user disabled or
    signed out meanwhile is refused once the answer is that old. 0 asks on every request.
    Deleting a user here forgets it at once.

    The firebase_admin app is created on first use with the project id only: checking a
    token needs Google's public certificates, not credentials.
    """

    def __init__(
        self,
        project_id: str,
        *,
        check_revoked: bool = False,
        account_ttl_s: float = 0.0,
        verify: Callable[..., Mapping[str, Any]] | None = None,
        lookup: Callable[[str], Account] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._project_id = project_id
        self._check_revoked = check_revoked
        self._account_ttl_s = account_ttl_s if check_revoked else 0.0
        self._verify = verify
        self._lookup = lookup
        self._clock = clock
        self._lock = threading.Lock()
        # uid -> (when it was looked up, the account): see account_ttl_s.
        self._accounts: OrderedDict[str, tuple[float, Account]] = OrderedDict()

    def _app(self) -> Any:
        """This project's firebase_admin app, created on first use."""
        import firebase_admin

        name = f"panelflow-{self._project_id}"
        try:
            return firebase_admin.get_app(name)
        except ValueError:  # not initialised yet in this process
            return firebase_admin.initialize_app(options={"projectId": self._project_id}, name=name)

    def _verifier(self) -> Callable[..., Mapping[str, Any]]:
        with self._lock:
            if self._verify is None:
                from firebase_admin import auth

                self._verify = functools.partial(auth.verify_id_token, app=self._app())
            return self._verify

    def _account_lookup(self) -> Callable[[str], Account]:
        with self._lock:
            if self._lookup is None:
                from firebase_admin import auth

                app = self._app()

                def lookup(uid: str) -> Account:
                    user = auth.get_user(uid, app=app)
                    # firebase-admin's own check: iat * 1000 < tokens_valid_after_timestamp.
                    valid_after_ms = user.tokens_valid_after_timestamp or 0
                    return Account(disabled=bool(user.disabled), valid_after=valid_after_ms / 1000)

                self._lookup = lookup
            return self._lookup

    def delete_user(self, uid: str) -> None:
        from firebase_admin import auth, exceptions

        with self._lock:
            self._accounts.pop(uid, None)
            app = self._app()
        try:
            auth.delete_user(uid, app=app)
        except auth.UserNotFoundError:
            return  # deleted already: deleting an account twice is not an error
        except exceptions.FirebaseError as error:
            raise TransientError("could not delete the sign-in account; try again") from error

    def uid(self, authorization: str | None) -> str:
        token = bearer_token(authorization)
        if os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
            _check_emulator_format(token)
        verify = self._verifier()
        remembered = self._account_ttl_s > 0
        try:
            # Remembered accounts are checked here, after the claims, not by firebase-admin.
            claims = verify(token, check_revoked=self._check_revoked and not remembered)
        except Exception as error:
            raise _translate_firebase_error(error) from error
        uid = check_claims(claims, self._project_id, now=self._clock())
        if remembered:
            try:
                _check_account(self._account(uid), claims)
            except Exception as error:
                raise _translate_firebase_error(error) from error
        return uid

    def _account(self, uid: str) -> Account:
        """The user's account as remembered (looked up at most ``account_ttl_s`` ago) or as
        Firebase Auth answers now."""
        now = self._clock()
        with self._lock:
            seen = self._accounts.get(uid)
            if seen is not None and 0 <= now - seen[0] < self._account_ttl_s:
                self._accounts.move_to_end(uid)
                return seen[1]
        account = self._account_lookup()(uid)
        with self._lock:
            self._accounts[uid] = (now, account)
            self._accounts.move_to_end(uid)
            while len(self._accounts) > REMEMBERED_ACCOUNTS:
                self._accounts.popitem(last=False)
        return account


def _check_account(account: Account, claims: Mapping[str, Any]) -> None:
    """firebase-admin's own revocation check, on a remembered account: the same errors,
    translated by ``_translate_firebase_error`` like the ones it raises itself."""
    from firebase_admin import auth

    if account.disabled:
        raise auth.UserDisabledError("The user record is disabled.")
    if float(claims["iat"]) < account.valid_after:
        raise auth.RevokedIdTokenError("The Firebase ID token has been revoked.")


def check_claims(claims: Mapping[str, Any], project_id: str, *, now: float) -> str:
    """The checks firebase-admin skips for emulator tokens; returns the uid."""
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or expires <= now:
        raise Unauthenticated("the ID token has expired; sign in again")
    for name in ("iat", "auth_time"):
        moment = claims.get(name)
        if not isinstance(moment, (int, float)) or moment > now + CLOCK_SKEW_S:
            raise Unauthenticated(f"the ID token is not valid yet ({name} is in the future)")
    if claims.get("aud") != project_id:
        raise Unauthenticated("the ID token was issued for another project")
    if claims.get("iss") != f"https://securetoken.google.com/{project_id}":
        raise Unauthenticated("the ID token has the wrong issuer")
    uid = claims.get("uid") or claims.get("sub")
    if not isinstance(uid, str) or not UID_PATTERN.fullmatch(uid) or claims.get("sub") != uid:
        raise Unauthenticated("the token carries no valid user id")
    return uid


def _check_emulator_format(token: str) -> None:
    """The Auth emulator issues unsigned tokens: anything else was made or changed elsewhere."""
    parts = token.split(".")
    if len(parts) != 3 or parts[2]:
        raise Unauthenticated("the ID token is not valid")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, binascii.Error) as error:
        raise Unauthenticated("the ID token is not valid") from error
    if not isinstance(header, dict) or header.get("alg") != "none":
        raise Unauthenticated("the ID token is not valid")


def _translate_firebase_error(error: Exception) -> PanelflowError:
    """firebase-admin's errors by type: the caller's token, or a dependency that is down."""
    from firebase_admin import auth, exceptions

    # The caller's token, by the most specific type first; the last row also covers the other
    # invalid-argument errors (a tenant mismatch).
    rejected: tuple[tuple[type[Exception] | tuple[type[Exception], ...], str], ...] = (
        (auth.ExpiredIdTokenError, "the ID token has expired; sign in again"),
        (auth.RevokedIdTokenError, "the ID token was revoked; sign in again"),
        (auth.UserDisabledError, "this account is disabled"),
        (auth.UserNotFoundError, "the token's user no longer exists"),
        (
            (auth.InvalidIdTokenError, exceptions.InvalidArgumentError, ValueError),
            "the ID token is not valid",
        ),
    )
    for error_types, message in rejected:
        if isinstance(error, error_types):
            return Unauthenticated(message)
    if isinstance(error, auth.CertificateFetchError):
        return TransientError("could not fetch the token certificates; try again")
    if isinstance(error, exceptions.FirebaseError):
        # Unavailable, deadline, internal and unknown errors, and a refused revocation
        # check: nothing the caller did wrong.
        logs.warning("token verification failed", error=type(error).__name__)
        return TransientError("could not verify the ID token; try again")
    raise error
