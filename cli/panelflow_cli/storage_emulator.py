"""gcp-storage-emulator served by a threaded HTTP server with a deep accept queue.

The package's own server handles one connection at a time with a listen backlog of 5:
with dozens of panels uploading at once, connections overflow the backlog and wait for TCP
retransmission (measured: 60 requests/s, p99 16 s with 64 clients), and every upload
rewrites a JSON document of all objects. Here sockets are served by threads, the storage
code (not thread-safe) runs one request at a time under a lock, and the in-memory store
skips the metadata rewrite.

With ``--signing-key-file`` (the local stack's throwaway key, which also signs the API's
asset links), the XML path that signed URLs use, ``/<bucket>/<object>``, behaves like a
private bucket: a request needs a valid V4 signature by that key and is refused once the
link has expired (403 ``AccessDenied`` / ``SignatureDoesNotMatch``, 400 ``ExpiredToken``,
as Cloud Storage answers). The JSON API the functions use (``/storage/v1``,
``/download``, ``/upload``) stays open: the emulator has no IAM.

Each ``--principal NAME=PORT:ACCESS`` opens one more port for one function's service account,
with the access functions/pipeline.yaml declares for it (``none``, ``read``, ``read-write``):
a call its role would not allow is refused with Cloud Storage's 403 ``forbidden`` JSON.

Run: ``python -m panelflow_cli.storage_emulator --host H --port P --default-bucket B
[--signing-key-file KEY.pem] [--principal NAME=PORT:ACCESS ...]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import threading
import time
from datetime import UTC, datetime
from functools import partial
from http import server
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gcp_storage_emulator import server as emulator
from gcp_storage_emulator.handlers import buckets
from gcp_storage_emulator.storage import Storage

from panelflow_cli.function_guard import is_loopback_host

_storage_lock = threading.Lock()


class _MemoryStorage(Storage):
    """In-memory storage that skips re-serialising every object's metadata on each write
    (the package rewrites one JSON document of all objects per upload: O(n) per write)."""

    def __init__(self) -> None:
        super().__init__(use_memory_fs=True)

    def _write_config_to_file(self) -> None:
        pass


class _Server(server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


class _Handler(emulator.RequestHandler):
    # Keep-alive: the Python clients reuse connections instead of opening one per request.
    protocol_version = "HTTP/1.1"
    # A reply goes out as two writes (headers, then body); with Nagle's algorithm on a kept
    # connection the body waits for the client's delayed ACK of the headers: 40 ms a call.
    disable_nagle_algorithm = True
    # The public key signed links must verify with; None serves the XML path openly.
    public_key: rsa.RSAPublicKey | None = None
    # On a principal's port (a function's service account): its access to the bucket,
    # "none", "read" or "read-write", as its IAM role would grant; None on the open port.
    principal: str = ""
    access: str | None = None

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        if self._refused_by_guard():
            return
        method = getattr(self, f"do_{self.command}", None)
        if method is None:
            self.send_error(501, f"unsupported method {self.command!r}")
            return
        if self.access is not None:
            refusal = check_access(self.principal, self.access, self.command)
            if refusal is not None:
                self._refuse_json(refusal)
                return
        if self.public_key is not None and _is_xml_object_path(self.path):
            refusal = check_signed_request(
                self.public_key,
                self.command,
                self.path,
                self.headers.get("Host", ""),
                time.time(),
            )
            if refusal is not None:
                self._refuse(*refusal)
                return
        with _storage_lock:
            method()
        self.wfile.flush()

    def _refused_by_guard(self) -> bool:
        """Answers (and returns True) a request no local caller should send."""
        if not is_loopback_host(self.headers.get("Host", "")):
            # DNS rebinding: a page whose name now points here still sends its own name.
            self._refuse_json("requests must name a loopback host", status=421)
            return True
        if _is_xml_object_path(self.path) and has_method_override(self.path, self.headers):
            # A read-only signed link must not become a write (the signature covers the
            # method on the request line, not one named in a header or the query).
            self._refuse(400, "InvalidArgument", "method overrides are not supported")
            return True
        return False

    def _refuse_json(self, message: str, status: int = 403) -> None:
        reason = "forbidden" if status == 403 else "misdirected"
        body = json.dumps(
            {
                "error": {
                    "code": status,
                    "message": message,
                    "errors": [{"message": message, "domain": "global", "reason": reason}],
                }
            }
        ).encode()
        self._reply(status, "application/json", body)

    def _refuse(self, status: int, code: str, message: str) -> None:
        body = (
            "<?xml version='1.0' encoding='UTF-8'?>"
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ).encode()
        self._reply(status, "application/xml", body)

    def _reply(self, status: int, media_type: str, body: bytes) -> None:
        """A refusal in Cloud Storage's shape: JSON on its JSON API, XML on signed links."""
        self.send_response(status)
        self.send_header("Content-Type", f"{media_type}; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


# Paths of the JSON API and the emulator's own endpoints; everything else with a bucket and
# an object name is the XML API, which signed URLs use.
_OPEN_PREFIXES = ("/storage/", "/download/", "/upload/", "/batch/", "/b/", "/wipe")


# Headers and the query parameter with which some servers let a request name another method.
_OVERRIDE_HEADERS = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")


def has_method_override(raw_path: str, headers: Any) -> bool:
    """True when the request asks for a method other than its own, by header or ``_method``."""
    if any(headers.get(name) is not None for name in _OVERRIDE_HEADERS):
        return True
    query = urlsplit(raw_path).query
    return any(key.lower() == "_method" for key, _ in parse_qsl(query, keep_blank_values=True))


def _is_xml_object_path(raw_path: str) -> bool:
    path = urlsplit(raw_path).path
    return path.count("/") >= 2 and not path.startswith(_OPEN_PREFIXES)


def check_signed_request(
    public_key: rsa.RSAPublicKey, method: str, raw_path: str, host: str, now: float
) -> tuple[int, str, str] | None:
    """Checks a V4 signed request (GOOG4-RSA-SHA256, host the only signed header) the way
    Cloud Storage does; returns (status, code, message) to refuse it, or None."""
    parts = urlsplit(raw_path)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = params.pop("X-Goog-Signature", "")
    if not signature:
        return 403, "AccessDenied", "Anonymous caller does not have storage.objects.get access."
    try:
        if params["X-Goog-Algorithm"] != "GOOG4-RSA-SHA256":
            raise ValueError("algorithm")
        timestamp = params["X-Goog-Date"]
        signed_at = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        lifetime = int(params["X-Goog-Expires"])
        scope = params["X-Goog-Credential"].split("/", 1)[1]
        signed_headers = params["X-Goog-SignedHeaders"]
    except (KeyError, IndexError, ValueError):
        return 400, "AuthenticationRequired", "The signed URL is malformed."
    if now > signed_at.timestamp() + lifetime:
        return 400, "ExpiredToken", "Invalid argument. The provided token has expired."
    if signed_headers != "host":
        return 403, "SignatureDoesNotMatch", "Only the host header may be signed here."
    query = "&".join(sorted(f"{_quote(k)}={_quote(v)}" for k, v in params.items()))
    canonical = "\n".join([method, parts.path, query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = "\n".join(["GOOG4-RSA-SHA256", timestamp, scope, digest])
    try:
        public_key.verify(
            bytes.fromhex(signature), string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return 403, "SignatureDoesNotMatch", "The request signature does not match."
    return None


_READS = ("GET", "HEAD")


def check_access(principal: str, access: str, method: str) -> str | None:
    """The refusal Cloud Storage gives a service account without the permission, or None."""
    if access == "read-write" or (access == "read" and method in _READS):
        return None
    permission = "storage.objects.get" if method in _READS else "storage.objects.create"
    return (
        f"{principal}@local.iam.gserviceaccount.com does not have {permission} access to the "
        f"Google Cloud Storage object. Permission '{permission}' denied on resource (or it may "
        "not exist)."
    )


def _quote(value: str) -> str:
    return quote(value, safe="~")


def serve(
    host: str,
    port: int,
    default_bucket: str | None,
    signing_key_file: str = "",
    principals: list[tuple[str, int, str]] | None = None,
) -> None:
    """Serves the open port, plus one port per (principal, port, access) with its IAM."""
    storage = _MemoryStorage()
    if default_bucket:
        buckets.create_bucket(default_bucket, storage)
    handler: type[_Handler] = _Handler
    if signing_key_file:
        with open(signing_key_file, "rb") as key_file:
            private_key = serialization.load_pem_private_key(key_file.read(), password=None)
        assert isinstance(private_key, rsa.RSAPrivateKey)
        handler = type("_SigningHandler", (_Handler,), {"public_key": private_key.public_key()})
    for name, principal_port, access in principals or []:
        scoped = type(f"_{name}Handler", (handler,), {"principal": name, "access": access})
        server_for = _Server((host, principal_port), partial(scoped, storage))
        threading.Thread(target=server_for.serve_forever, daemon=True).start()
    httpd = _Server((host, port), partial(handler, storage))
    httpd.serve_forever()


def _principal(value: str) -> tuple[str, int, str]:
    """NAME=PORT:ACCESS, e.g. worker=4321:read-write."""
    name, _, rest = value.partition("=")
    port, _, access = rest.partition(":")
    if access not in ("none", "read", "read-write"):
        raise argparse.ArgumentTypeError(f"access must be none, read or read-write: {value!r}")
    return name, int(port), access


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--default-bucket", default=None)
    parser.add_argument("--signing-key-file", default="")
    parser.add_argument(
        "--principal", type=_principal, action="append", default=[], help="NAME=PORT:ACCESS"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    serve(args.host, args.port, args.default_bucket, args.signing_key_file, args.principal)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
