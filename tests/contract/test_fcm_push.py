"""FcmPushSender against the local FCM HTTP v1 fake: the wire format, and each failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes import fcm_server
from fakes.fcm_server import FakeFcm
from panelflow.adapters.fcm import FcmPushSender
from panelflow.domain.errors import ProviderError, TransientError, UnregisteredDevice
from panelflow.ports import PushMessage

MESSAGE = PushMessage(
    token="fcm-token-1",
    title="The Lighthouse",
    body="Your comic is ready",
    data={"jobId": "job-1", "status": "completed", "link": "/#/jobs/job-1"},
)


@pytest.fixture
def fcm() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


def _sender(fcm: FakeFcm, waits: list[float] | None = None, **options) -> FcmPushSender:
    record = waits if waits is not None else []
    return FcmPushSender("demo-panelflow", endpoint=fcm.endpoint, sleep=record.append, **options)


def test_a_message_goes_out_in_the_v1_wire_format(fcm: FakeFcm) -> None:
    name = _sender(fcm).send(MESSAGE)
    assert name.startswith("projects/demo-panelflow/messages/")
    (received,) = fcm.messages
    assert received.project == "demo-panelflow"
    assert received.authorization.startswith("Bearer ")
    assert received.body == {
        "message": {
            "token": "fcm-token-1",
            "notification": {"title": "The Lighthouse", "body": "Your comic is ready"},
            "data": {"jobId": "job-1", "status": "completed", "link": "/#/jobs/job-1"},
        }
    }


def test_an_unregistered_token_is_reported_as_such(fcm: FakeFcm) -> None:
    fcm.unregistered.add("fcm-token-1")
    with pytest.raises(UnregisteredDevice):
        _sender(fcm).send(MESSAGE)
    assert len(fcm.requests) == 1  # not retried


def test_invalid_argument_is_refused_without_retrying(fcm: FakeFcm) -> None:
    bad = PushMessage(token="t", title="x", body="y", data={"from": "reserved key"})
    with pytest.raises(ProviderError) as raised:
        _sender(fcm).send(bad)
    assert not isinstance(raised.value, UnregisteredDevice)
    assert "400 INVALID_ARGUMENT" in str(raised.value)
    assert len(fcm.requests) == 1 and fcm.messages == []


def test_5xx_and_429_are_retried_with_backoff_then_sent_once(fcm: FakeFcm) -> None:
    fcm.script(fcm_server.unavailable(), fcm_server.internal(), fcm_server.quota_exceeded(3))
    waits: list[float] = []
    _sender(fcm, waits, initial_backoff_s=0.5).send(MESSAGE)
    assert len(fcm.requests) == 4 and len(fcm.messages) == 1
    # Exponential (with jitter), and at least what Retry-After asked for.
    assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0 and waits[2] >= 3.0


def test_retries_stop_at_the_budget_with_the_last_error(fcm: FakeFcm) -> None:
    fcm.script(*[fcm_server.unavailable()] * 20)
    waits: list[float] = []
    with pytest.raises(TransientError):
        _sender(fcm, waits, retry_budget_s=5.0, initial_backoff_s=1.0).send(MESSAGE)
    assert sum(waits) <= 5.0 and 2 <= len(waits) < 20
    assert fcm.messages == []


def test_a_retry_after_past_the_budget_gives_up_at_once(fcm: FakeFcm) -> None:
    fcm.script(fcm_server.quota_exceeded(600))
    waits: list[float] = []
    with pytest.raises(TransientError) as raised:
        _sender(fcm, waits, retry_budget_s=30.0).send(MESSAGE)
    assert raised.value.retry_after == 600 and waits == []


def test_a_timeout_is_retried(fcm: FakeFcm) -> None:
    fcm.script(fcm_server.slow(1.0))
    _sender(fcm, timeout_s=0.2).send(MESSAGE)
    assert len(fcm.requests) == 2 and len(fcm.messages) == 1


def test_a_refused_connection_is_transient() -> None:
    sender = FcmPushSender(
        "p", endpoint="http://127.0.0.1:9", retry_budget_s=0, sleep=lambda _s: None
    )
    with pytest.raises(TransientError):
        sender.send(MESSAGE)


def test_without_credentials_a_remote_endpoint_is_refused_not_retried(monkeypatch) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def no_credentials(**_kwargs):
        raise DefaultCredentialsError("none")

    monkeypatch.setattr(google.auth, "default", no_credentials)
    sender = FcmPushSender("p", endpoint="https://fcm.invalid", sleep=lambda _s: None)
    with pytest.raises(ProviderError) as raised:
        sender.send(MESSAGE)
    assert not isinstance(raised.value, TransientError) and sender.requests == 1


def test_a_remote_endpoint_gets_the_credentials_bearer_token(fcm: FakeFcm) -> None:
    class Credentials:
        valid, token = False, None

        def refresh(self, _request) -> None:
            self.valid, self.token = True, "ya29.test-token"

    # An https endpoint is "remote": the sender asks the credentials for a token. The fake
    # speaks plain http, so the session is pointed at it underneath.
    import requests

    session = requests.Session()
    remote = FcmPushSender(
        "demo-panelflow",
        endpoint="https://fcm.example",
        credentials=Credentials(),
        session=session,
    )
    original = session.post
    session.post = lambda url, **kw: original(
        url.replace("https://fcm.example", fcm.endpoint), **kw
    )  # type: ignore[method-assign]
    remote.send(MESSAGE)
    assert fcm.messages[-1].authorization == "Bearer ya29.test-token"
