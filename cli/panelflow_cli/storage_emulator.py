"""gcp-storage-emulator served by a threaded HTTP server with a deep accept queue.

The package's own server handles one connection at a time with a listen backlog of 5:
with dozens of panels uploading at once, connections overflow the backlog and wait for TCP
retransmission (measured: 60 requests/s, p99 16 s with 64 clients), and every upload
rewrites a JSON document of all objects. Here sockets are served by threads, the storage
code (not thread-safe) runs one request at a time under a lock, and the in-memory store
skips the metadata rewrite.

Run: ``python -m panelflow_cli.storage_emulator --host H --port P --default-bucket B``.
"""

from __future__ import annotations

import argparse
import logging
import threading
from functools import partial
from http import server

from gcp_storage_emulator import server as emulator
from gcp_storage_emulator.handlers import buckets
from gcp_storage_emulator.storage import Storage

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

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        method = getattr(self, f"do_{self.command}", None)
        if method is None:
            self.send_error(501, f"unsupported method {self.command!r}")
            return
        with _storage_lock:
            method()
        self.wfile.flush()


def serve(host: str, port: int, default_bucket: str | None) -> None:
    storage = _MemoryStorage()
    if default_bucket:
        buckets.create_bucket(default_bucket, storage)
    httpd = _Server((host, port), partial(_Handler, storage))
    httpd.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--default-bucket", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    serve(args.host, args.port, args.default_bucket)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
