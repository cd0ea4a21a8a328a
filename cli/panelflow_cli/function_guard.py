"""Runs one function under functions-framework on the local stack, behind two checks that
production gets from Google's front end instead (docs/security.md, "The local stack").

- Host: only a loopback name or address (``localhost``, ``127.0.0.0/8``, ``::1``) is
  answered; anything else is 421 Misdirected Request. A web page that rebinds its own DNS
  name to 127.0.0.1 reaches the port, but its requests still carry its own name.
- Caller: with ``PANELFLOW_LOCAL_CALLER_SECRET`` set (every function but the public API),
  a request must carry that per-stack secret in ``X-Panelflow-Caller``, as only the
  delivery relay does; anything else is 403. In production the event functions accept only
  Eventarc's and Cloud Scheduler's OIDC tokens (run.invoker), so no such secret exists there.

Runs in the function's own environment, by path, so it imports nothing of panelflow_cli.
The function's code is the staged bundle, unchanged.

Run: ``python function_guard.py --target T --source S --signature-type K --host H --port P``.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

CALLER_HEADER = "X-Panelflow-Caller"
SECRET_VARIABLE = "PANELFLOW_LOCAL_CALLER_SECRET"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, a loopback address, with or without a port."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8080
        name, _, port = host[1:].partition("]")
        port = port.removeprefix(":")
    elif host.count(":") == 1:
        name, _, port = host.partition(":")
    else:
        name, port = host, ""
    if port and not port.isdigit():
        return False
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Guard:
    """WSGI middleware: loopback Host only, and the caller's secret when one is set."""

    def __init__(self, app: WsgiApp, secret: str = "") -> None:
        self.app = app
        self.secret = secret

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST") or ""
        if not is_loopback_host(host):
            return _refuse(start_response, 421, "misdirected_request", "unknown Host")
        if self.secret:
            given = environ.get("HTTP_X_PANELFLOW_CALLER", "")
            if not hmac.compare_digest(given.encode(), self.secret.encode()):
                return _refuse(start_response, 403, "forbidden", "only the relay calls this")
        return self.app(environ, start_response)


def _refuse(start_response: StartResponse, status: int, code: str, message: str) -> list[bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    reason = {421: "Misdirected Request", 403: "Forbidden"}[status]
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def main(argv: list[str] | None = None) -> int:
    from functions_framework import create_app
    from functions_framework._http import create_server

    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("--target", "--source", "--signature-type", "--host"):
        parser.add_argument(name, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = create_app(args.target, args.source, args.signature_type)
    app.wsgi_app = Guard(app.wsgi_app, os.environ.get(SECRET_VARIABLE, ""))  # type: ignore[method-assign]
    create_server(app, False).run(args.host, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
