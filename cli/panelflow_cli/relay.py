"""Delivery relay: Pub/Sub streaming pull → CloudEvent POST to a function, like a push
subscription, but with as many deliveries in flight as configured.

The emulator's own push runs only about two requests at once per subscription; this keeps
production semantics instead: ack on 2xx, otherwise the message returns after a backoff
(the subscription's retry policy in production) and, after ``max_delivery_attempts``, the
emulator moves it to the dead-letter topic. It also calls the sweeper on a schedule, as
Cloud Scheduler does in production.

Run: ``python -m panelflow_cli.relay relay.json [--ready FILE]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
import urllib3
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.message import Message
from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler

from panelflow_cli.function_guard import CALLER_HEADER

# Streaming pulls per route (fewer for a route with fewer deliveries at once), and how
# often the Pub/Sub emulator looks for messages for each one (its StreamingPullPusher).
STREAMS = 8
EMULATOR_POLL_S = 0.05


def backoff_seconds(attempt: int, minimum: float = 1.0, maximum: float = 10.0) -> int:
    """Exponential backoff between redeliveries, as a subscription retry policy would."""
    return max(0, int(min(maximum, minimum * 2 ** max(attempt - 1, 0))))


def cloud_event(
    message: Message, project: str, topic: str, subscription: str
) -> tuple[dict[str, str], bytes]:
    """The binary-mode CloudEvent that Eventarc sends for a Pub/Sub message."""
    publish_time = message.publish_time.isoformat() if message.publish_time else ""
    attempt = message.delivery_attempt or 1
    body = {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": dict(message.attributes),
            "messageId": message.message_id,
            "publishTime": publish_time,
        },
        "subscription": f"projects/{project}/subscriptions/{subscription}",
        "deliveryAttempt": attempt,
    }
    headers = {
        "Content-Type": "application/json",
        "ce-id": message.message_id,
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
        "ce-time": publish_time,
    }
    return headers, json.dumps(body).encode()


class Route:
    def __init__(
        self,
        config: dict[str, Any],
        project: str,
        timeout: float,
        backoff: tuple[float, float] = (1.0, 10.0),
        caller_secret: str = "",
    ) -> None:
        self.subscription = config["subscription"]
        # Proves to the function's guard that the relay is calling (as Eventarc's OIDC token
        # does in production).
        self.caller = {CALLER_HEADER: caller_secret} if caller_secret else {}
        self.topic = config["topic"]
        self.url = config["url"]
        self.concurrency = int(config["concurrency"])
        self.project = project
        self.timeout = timeout
        self.backoff = backoff
        # Fault drills: deliver every message twice at once, as at-least-once allows.
        self.duplicate = bool(config.get("duplicate", False))
        # Deliveries in flight, across the route's streams, as a push subscription's
        # function allows (its instances times their concurrency).
        self.slots = threading.BoundedSemaphore(self.concurrency)
        # One pool of kept connections per route, shared by its streams' threads, on
        # urllib3 itself: a burst of deliveries is posted by one process, and requests'
        # per-call work (cookies, environment proxies, .netrc) was half of its CPU time.
        self._pool = urllib3.PoolManager(maxsize=max(1, self.concurrency), retries=False)
        self.delivered = 0
        self.failed = 0

    def _post(self, headers: dict[str, str], body: bytes) -> bool:
        # The functions' server closes a kept connection after 2 s idle; a POST that meets
        # that close gets a reset, not an answer. It goes again at once, on a new
        # connection, instead of waiting out a redelivery's backoff (a second or more) for a
        # local artefact; a function may see a delivery twice, as at-least-once allows.
        for attempt in range(2):
            try:
                response = self._pool.request(
                    "POST",
                    self.url,
                    body=body,
                    headers={**headers, **self.caller},
                    timeout=self.timeout,
                )
                return 200 <= response.status < 300
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.NewConnectionError):
                if attempt:
                    return False
            except urllib3.exceptions.HTTPError:
                return False
        return False

    def deliver(self, message: Message) -> None:
        with self.slots:
            self._deliver(message)

    def _deliver(self, message: Message) -> None:
        headers, body = cloud_event(message, self.project, self.topic, self.subscription)
        if self.duplicate:
            twin = threading.Thread(target=self._post, args=(headers, body))
            twin.start()
            ok = self._post(headers, body)
            twin.join()
        else:
            ok = self._post(headers, body)
        if ok:
            self.delivered += 1
            message.ack()
            return
        self.failed += 1
        # Come back after a backoff instead of at once; the lease is released meanwhile.
        message.modify_ack_deadline(backoff_seconds(message.delivery_attempt or 1, *self.backoff))
        message.drop()


def _every(url: str, seconds: float, stopping: threading.Event, secret: str = "") -> None:
    """POSTs to ``url`` every ``seconds``, as Cloud Scheduler calls the sweeper."""
    session = requests.Session()
    headers = {CALLER_HEADER: secret} if secret else {}
    while not stopping.wait(seconds):
        try:
            session.post(url, json={}, headers=headers, timeout=60)
        except requests.RequestException as error:
            print(f"scheduled call to {url} failed: {error!r}", file=sys.stderr, flush=True)


def run(config_path: Path, ready: Path | None) -> int:
    config = json.loads(config_path.read_text())
    project = config["project"]
    subscriber = pubsub_v1.SubscriberClient()
    futures = []
    minimum, maximum = config.get("backoff", (1.0, 10.0))
    secret = str(config.get("caller_secret", ""))
    timeout = float(config.get("timeout", 300))
    routes = [
        Route(route_config, project, timeout, (minimum, maximum), secret)
        for route_config in config["routes"]
    ]
    # The emulator feeds each streaming pull from a loop that looks for messages every
    # 50 ms, so one stream leaves a message waiting 25 ms on average (up to 50) before
    # delivery even starts, where a push subscription posts at once. Several streams per
    # route, opened out of step (one round of every route's streams at a time), cut that
    # wait. The emulator hands a stream more than its flow control asks for, so each stream
    # may take all of the route's deliveries, and the route's slots (Route.deliver) keep
    # them to its concurrency across its streams. Eight streams (emulator alone): publish to
    # callback p50 15-17 ms, against 19-28 ms with four and 14-15 ms with sixteen; idle
    # polling costs the emulator about 0.02 of a core per route.
    for round_ in range(STREAMS):
        for route in routes:
            if round_ >= max(1, min(STREAMS, route.concurrency)):
                continue
            executor = ThreadPoolExecutor(
                max_workers=route.concurrency, thread_name_prefix=route.topic
            )
            future = subscriber.subscribe(
                subscriber.subscription_path(project, route.subscription),
                callback=route.deliver,
                flow_control=pubsub_v1.types.FlowControl(
                    max_messages=route.concurrency, max_lease_duration=route.timeout + 60
                ),
                scheduler=ThreadScheduler(executor),
            )
            futures.append(future)
        time.sleep(EMULATOR_POLL_S / STREAMS)
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()

    for job in config.get("schedule", []):
        threading.Thread(
            target=_every,
            args=(job["url"], float(job["every"]), stopping, str(config.get("caller_secret", ""))),
            daemon=True,
        ).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if ready is not None:
        ready.write_text("ok")
    while not stopping.is_set():
        for future in futures:
            if future.done():
                error = future.exception()
                print(f"relay stream ended: {error!r}", file=sys.stderr, flush=True)
                return 1
        time.sleep(0.2)
    for future in futures:
        future.cancel()
    subscriber.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Pub/Sub → CloudEvent delivery relay")
    parser.add_argument("config", type=Path)
    parser.add_argument("--ready", type=Path, default=None)
    args = parser.parse_args(argv)
    return run(args.config, args.ready)


if __name__ == "__main__":
    raise SystemExit(main())
