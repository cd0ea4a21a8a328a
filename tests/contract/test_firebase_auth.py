"""FirebaseAuthenticator's revocation check against an Auth endpoint that is down.

With ``check_revoked`` firebase-admin asks Firebase Auth about the token's user; here it is
pointed (through FIREBASE_AUTH_EMULATOR_HOST) at a port where nothing listens, so the call
fails for real and must surface as a retryable 503, never as a 401 or a 500.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from panelflow.adapters.auth import FirebaseAuthenticator
from panelflow.domain.errors import TransientError
from panelflow_cli.stack import free_port

PROJECT = "demo-revocation"


def _token(uid: str) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
        "sub": uid,
        "user_id": uid,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_revocation_check_with_auth_down_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    authenticator = FirebaseAuthenticator(PROJECT, check_revoked=True)
    with pytest.raises(TransientError) as caught:
        authenticator.uid(f"Bearer {_token('ada')}")
    assert caught.value.http_status == 503 and caught.value.retryable
    # Without the revocation check the same token needs no call at all.
    assert FirebaseAuthenticator(PROJECT).uid(f"Bearer {_token('ada')}") == "ada"
