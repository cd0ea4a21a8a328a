"""Authenticators: turn an Authorization header into the caller's uid."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping

from panelflow.domain.errors import Unauthenticated

_UID = re.compile(r"^[A-Za-z0-9_\-.:@]{1,128}$")


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
