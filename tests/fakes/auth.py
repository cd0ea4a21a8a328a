"""A fake of the Authenticator port: tokens that name their user, checked like real ones."""

from __future__ import annotations

from panelflow.adapters.auth import UID_PATTERN, bearer_token
from panelflow.domain.errors import Unauthenticated

PREFIX = "fake-id-token:"


def fake_token(uid: str) -> str:
    """A token only FakeAuthenticator accepts; the contract tests hold it to the real one."""
    return f"{PREFIX}{uid}"


class FakeAuthenticator:
    """Accepts ``fake_token(uid)``; refuses what FirebaseAuthenticator refuses for the caller.

    Users in ``disabled`` are refused, as Firebase Auth refuses a disabled account.
    """

    def __init__(self) -> None:
        self.disabled: set[str] = set()
        self.deleted: list[str] = []
        self.calls = 0

    def uid(self, authorization: str | None) -> str:
        self.calls += 1
        token = bearer_token(authorization)
        if not token.startswith(PREFIX):
            raise Unauthenticated("the ID token is not valid")
        uid = token.removeprefix(PREFIX)
        if not UID_PATTERN.fullmatch(uid):
            raise Unauthenticated("the token carries no valid user id")
        if uid in self.disabled:
            raise Unauthenticated("this account is disabled")
        if uid in self.deleted:
            raise Unauthenticated("the token's user no longer exists")
        return uid

    def delete_user(self, uid: str) -> None:
        self.deleted.append(uid)
