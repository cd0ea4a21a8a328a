"""The delivery relay's POST to a function: a connection the server dropped is tried again
at once, not after a redelivery's backoff."""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

from panelflow_cli.relay import Route


@dataclass
class FakeMessage:
    """What the relay uses of a streaming-pull message."""

    data: bytes = b'{"jobId":"j","panelIndex":0}'
    attributes: dict[str, str] = field(default_factory=dict)
    message_id: str = "m-1"
    publish_time: None = None
    delivery_attempt: int = 1
    acked: bool = False
    deadlines: list[int] = field(default_factory=list)

    def ack(self) -> None:
        self.acked = True

    def modify_ack_deadline(self, seconds: int) -> None:
        self.deadlines.append(seconds)

    def drop(self) -> None:
        pass


def _server(resets: int) -> tuple[str, list[str]]:
    """A function stand-in that resets its first ``resets`` connections (as a server
    closing an idle kept connection does) and answers 204 after that."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[str] = []

    def serve() -> None:
        for number in range(resets + 1):
            connection, _ = listener.accept()
            request = connection.recv(65536).decode(errors="replace")
            seen.append(request.split("\r\n", 1)[0])
            if number < resets:
                # RST, not FIN: the client gets ECONNRESET, no answer.
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            connection.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/", seen


def _route(url: str) -> Route:
    config = {"subscription": "s", "topic": "t", "url": url, "concurrency": 1}
    return Route(config, "demo-x", timeout=5)


def test_a_reset_connection_is_posted_again_at_once_and_acked() -> None:
    url, seen = _server(resets=1)
    route = _route(url)
    message = FakeMessage()
    route.deliver(message)  # type: ignore[arg-type]
    assert message.acked and message.deadlines == []
    assert seen == ["POST / HTTP/1.1", "POST / HTTP/1.1"]
    assert (route.delivered, route.failed) == (1, 0)


def test_a_function_that_keeps_failing_gets_the_message_back_after_a_backoff() -> None:
    url, seen = _server(resets=2)
    route = _route(url)
    message = FakeMessage(delivery_attempt=3)
    route.deliver(message)  # type: ignore[arg-type]
    assert not message.acked and message.deadlines == [4]
    assert len(seen) == 2 and (route.delivered, route.failed) == (0, 1)


def test_a_route_posts_no_more_at_once_than_its_concurrency_across_its_streams() -> None:
    """Each of a route's streams may hold all of its deliveries (the emulator sends a stream
    more than its flow control asks for): the route's slots keep the function's load to the
    route's concurrency."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    at_once = {"now": 0, "most": 0}
    lock = threading.Lock()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                at_once["now"] += 1
                at_once["most"] = max(at_once["most"], at_once["now"])
            threading.Event().wait(0.05)
            with lock:
                at_once["now"] -= 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = {
            "subscription": "s",
            "topic": "t",
            "url": f"http://127.0.0.1:{server.server_address[1]}/",
            "concurrency": 2,
        }
        route = Route(config, "demo-x", timeout=5)
        messages = [FakeMessage(message_id=f"m-{n}") for n in range(6)]
        threads = [threading.Thread(target=route.deliver, args=(m,)) for m in messages]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()
    assert all(message.acked for message in messages)
    assert at_once["most"] == 2
