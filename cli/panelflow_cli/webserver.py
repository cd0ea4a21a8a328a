"""A static web server for the reference web client (``web/``) and its ``/config.json``.

Local development only (production serves ``web/`` from Firebase Hosting): the standard
library's threading HTTP server, no directory listings, ``/config.json`` built from the local
stack's environment so the page knows where the API and the Auth and Firestore emulators are.

    python -m panelflow_cli.webserver --root web --port 8080
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from panelflow_cli.function_guard import is_loopback_host
from panelflow_cli.identity import EMULATOR_API_KEY

# Locally authDomain only names popup and redirect pages, which the Auth emulator serves.
LOCAL_AUTH_DOMAIN = "127.0.0.1"
# The Firebase SDK's ES modules; present once `npm ci` has run in web/.
VENDOR_MARKER = Path("node_modules") / "firebase" / "package.json"

# The service worker's version placeholder, replaced by a hash of the app shell's files so that
# any change to them is a new worker (the page then says "a new version is ready").
SW_VERSION_PLACEHOLDER = "__PANELFLOW_VERSION__"
SHELL_PATTERNS = (
    "index.html",
    "styles.css",
    "manifest.webmanifest",
    "sw.js",
    "src/**/*.js",
    "src/**/*.css",
)
# /s/{token}: a shared comic, the app's own page (the API checks the token).
_SHARE_PATH = re.compile(r"^/s/[^/]+/?$")

_MISSING_VENDOR_PAGE = """<!doctype html>
<meta charset="utf-8"><title>Panelflow web client: not installed</title>
<body style="font: 16px system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>The web client's packages are missing</h1>
<p>Run <code>npm ci</code> in <code>web/</code> (<code>scripts/bootstrap.sh</code> does it),
then reload this page.</p>
"""


def client_config(env: Mapping[str, str]) -> dict[str, Any]:
    """What the page needs: the API, the web app's Firebase config and the emulators to use.

    The same keys as the production ``config.json`` (which adds ``firebase.appId``): the page
    connects to an emulator only when its address is given here.
    """
    project = env.get("GOOGLE_CLOUD_PROJECT", "demo-panelflow")
    auth_host = env.get("FIREBASE_AUTH_EMULATOR_HOST", "")
    return {
        "apiUrl": env.get("PANELFLOW_API_URL", "").rstrip("/"),
        # The Auth emulator accepts any API key.
        "firebase": {
            "apiKey": EMULATOR_API_KEY,
            "authDomain": LOCAL_AUTH_DOMAIN,
            "projectId": project,
        },
        "authEmulatorUrl": f"http://{auth_host}" if auth_host else "",
        "firestoreEmulatorHost": env.get("FIRESTORE_EMULATOR_HOST", ""),
        "signIn": {"google": _flag(env.get("PANELFLOW_WEB_GOOGLE_SIGN_IN", ""))},
    }


def shell_version(root: Path) -> str:
    """A short hash of the app shell's files (names and bytes): a new one for every change."""
    digest = hashlib.sha256()
    files = sorted({path for pattern in SHELL_PATTERNS for path in root.glob(pattern)})
    files += sorted((root / "icons").glob("*.png"))
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def service_worker(root: Path) -> bytes:
    """web/sw.js with its version written in."""
    source = (root / "sw.js").read_text()
    if SW_VERSION_PLACEHOLDER not in source:
        raise ValueError("sw.js has no version placeholder")
    return source.replace(SW_VERSION_PLACEHOLDER, shell_version(root), 1).encode()


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


class WebHandler(SimpleHTTPRequestHandler):
    """Serves files under the root, the generated ``/config.json``, the service worker with
    its version, and the app itself for ``/s/{token}``."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        # Module scripts are refused unless served with a JavaScript type.
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".map": "application/json",
        ".json": "application/json",
        ".webmanifest": "application/manifest+json",
    }

    def __init__(self, *args: Any, config: bytes, directory: str, **kwargs: Any) -> None:
        self.config = config
        super().__init__(*args, directory=directory, **kwargs)

    def parse_request(self) -> bool:
        """Only requests addressed to this machine: a page elsewhere that points its own name
        at 127.0.0.1 (DNS rebinding) gets 421, as the functions and Storage answer it."""
        if not super().parse_request():
            return False
        if not is_loopback_host(self.headers.get("Host", "")):
            self._send(HTTPStatus.MISDIRECTED_REQUEST, "text/plain; charset=utf-8", "not here\n")
            return False
        return True

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == "/config.json":
            self._send(HTTPStatus.OK, "application/json", self.config)
        elif path == "/sw.js":
            # The worker may control the whole site; its version changes with the shell.
            worker = service_worker(Path(self.directory))
            self._send(
                HTTPStatus.OK,
                "text/javascript",
                worker,
                headers={"Service-Worker-Allowed": "/"},
            )
        elif _SHARE_PATH.match(path):
            self.path = "/index.html"
            super().do_GET()
        elif path in ("/", "/index.html") and not (Path(self.directory) / VENDOR_MARKER).is_file():
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE, "text/html; charset=utf-8", _MISSING_VENDOR_PAGE
            )
        else:
            super().do_GET()

    def do_HEAD(self) -> None:
        if self.path.split("?", 1)[0] == "/config.json":
            self._send(HTTPStatus.OK, "application/json", self.config, body=False)
        else:
            super().do_HEAD()

    def list_directory(self, path: str | os.PathLike[str]) -> None:  # type: ignore[override]
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")

    def end_headers(self) -> None:
        # Always revalidate (Last-Modified answers 304), so an edited file shows on reload.
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def _send(
        self,
        status: HTTPStatus,
        content_type: str,
        payload: bytes | str,
        body: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)


def make_server(
    root: Path, host: str, port: int, env: Mapping[str, str] | None = None
) -> ThreadingHTTPServer:
    config = json.dumps(client_config(os.environ if env is None else env)).encode()
    handler = partial(WebHandler, config=config, directory=str(root.resolve()))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the web/ folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    if not (args.root / VENDOR_MARKER).is_file():
        print(
            f"warning: {args.root / 'node_modules'} is missing; run 'npm ci' in {args.root}",
            file=sys.stderr,
            flush=True,
        )
    server = make_server(args.root, args.host, args.port)
    print(f"serving {args.root.resolve()} on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
