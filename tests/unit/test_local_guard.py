"""The local stack's guards: loopback Host names only, the relay's secret for the event
functions, and no method overrides on the Storage emulator's signed-link paths."""

from __future__ import annotations

import pytest

from panelflow_cli.function_guard import Guard, is_loopback_host
from panelflow_cli.storage_emulator import has_method_override


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8080",
        "127.0.0.1",
        "127.0.0.1:5000",
        "127.8.9.1:1",
        "[::1]:80",
        "::1",
    ],
)
def test_loopback_hosts_are_answered(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
        "10.0.0.1:80",
        "0.0.0.0:80",
        "[::2]:80",
        "127.0.0.1.nip.io",
        "localhost:80@evil",
    ],
)
def test_other_hosts_are_refused(host: str) -> None:
    assert not is_loopback_host(host)


def _call(guard: Guard, **environ: str) -> tuple[str, bytes]:
    seen: list[str] = []
    body = guard({"REQUEST_METHOD": "POST", **environ}, lambda status, headers: seen.append(status))
    return seen[0] if seen else "200 OK", b"".join(body)


def _app(environ, start_response):
    start_response("200 OK", [])
    return [b"ran"]


def test_the_guard_refuses_foreign_hosts_and_callers_without_the_secret() -> None:
    public, private = Guard(_app), Guard(_app, secret="s3cret")
    assert _call(public, HTTP_HOST="127.0.0.1:9") == ("200 OK", b"ran")
    status, body = _call(public, HTTP_HOST="attacker.example:9")
    assert status.startswith("421") and b"ran" not in body
    assert _call(private, HTTP_HOST="127.0.0.1:9")[0].startswith("403")
    assert _call(private, HTTP_HOST="127.0.0.1:9", HTTP_X_PANELFLOW_CALLER="guess")[0].startswith(
        "403"
    )
    assert _call(private, HTTP_HOST="127.0.0.1:9", HTTP_X_PANELFLOW_CALLER="s3cret")[1] == b"ran"
    # The secret does not excuse a foreign Host.
    status, _ = _call(private, HTTP_HOST="evil.example", HTTP_X_PANELFLOW_CALLER="s3cret")
    assert status.startswith("421")


def test_method_overrides_are_recognised() -> None:
    assert has_method_override("/b/o", {"X-HTTP-Method-Override": "PUT"})
    assert has_method_override("/b/o", {"X-HTTP-Method": "DELETE"})
    assert has_method_override("/b/o?X-Goog-Signature=1&_method=PUT", {})
    assert has_method_override("/b/o?_METHOD=delete", {})
    assert not has_method_override("/b/o?X-Goog-Signature=1", {"Content-Type": "x"})
