"""The CLI's API client: one retry, the same Idempotency-Key on it; no network."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from panelflow_cli.client import ApiClient, ApiError, ApiUnreachable


def reply(status: int, body: dict[str, Any], **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers)
    return response


class ScriptedHttp:
    """Answers requests from a script (a Response, or an exception to raise) and records them."""

    def __init__(self, *script: requests.Response | Exception) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.requests.append({"method": method, "url": url, **kwargs})
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


CREATED = reply(202, {"jobId": "j1", "status": "queued"})


def client(http: ScriptedHttp, slept: list[float]) -> ApiClient:
    tokens = iter(f"token-{n}" for n in range(10))
    fake: Any = http  # stands in for requests.Session: only .request is called
    return ApiClient("http://api.test", token=lambda: next(tokens), http=fake, sleep=slept.append)


def keys(http: ScriptedHttp) -> list[str]:
    return [request["headers"]["Idempotency-Key"] for request in http.requests]


@pytest.mark.parametrize(
    ("first", "wait"),
    [
        (requests.ConnectionError("reset"), 1.0),
        (requests.ReadTimeout("slow"), 1.0),
        (reply(503, {"error": {"code": "unavailable"}}, **{"Retry-After": "2"}), 2.0),
        (reply(503, {"error": {"code": "unavailable"}}), 1.0),
        (reply(429, {"error": {"code": "quota_exceeded"}}, **{"Retry-After": "30"}), 30.0),
    ],
)
def test_a_create_is_retried_once_with_the_same_idempotency_key(
    first: requests.Response | Exception, wait: float
) -> None:
    http, slept = ScriptedHttp(first, CREATED), list[float]()
    created = client(http, slept).start_job("a story", idempotency_key="key-1", panels=4)
    assert created["jobId"] == "j1"
    assert keys(http) == ["key-1", "key-1"]
    assert slept == [wait]
    # Each try asks for a token, so a retry after a long wait still sends a fresh one.
    assert [r["headers"]["Authorization"] for r in http.requests] == [
        "Bearer token-0",
        "Bearer token-1",
    ]
    assert http.requests[0]["json"] == {"story": "a story", "panels": 4}


def test_without_a_key_each_create_gets_its_own_uuid() -> None:
    http = ScriptedHttp(CREATED, CREATED)
    api = client(http, [])
    api.start_job("one")
    api.start_job("two")
    first, second = keys(http)
    assert first != second and len(first) == 36


@pytest.mark.parametrize(
    "answer",
    [
        reply(429, {"error": {"code": "quota_exceeded"}}, **{"Retry-After": "31"}),
        reply(429, {"error": {"code": "quota_exceeded"}}),
        reply(400, {"error": {"code": "invalid_argument"}}),
        reply(500, {"error": {"code": "internal"}}),
    ],
)
def test_answers_not_worth_waiting_for_are_final(answer: requests.Response) -> None:
    http, slept = ScriptedHttp(answer), list[float]()
    with pytest.raises(ApiError) as raised:
        client(http, slept).start_job("a story")
    assert raised.value.status == answer.status_code
    assert len(http.requests) == 1 and slept == []


def test_only_one_retry_then_the_error_is_readable() -> None:
    http = ScriptedHttp(requests.ConnectionError("refused"), requests.ConnectionError("refused"))
    with pytest.raises(ApiUnreachable, match=r"could not reach the API at http://api.test"):
        client(http, []).start_job("a story")
    assert len(http.requests) == 2

    busy = reply(503, {"error": {"code": "unavailable"}})
    http = ScriptedHttp(busy, reply(503, {"error": {"code": "unavailable"}}))
    with pytest.raises(ApiError):
        client(http, []).get_job("j1")
    assert len(http.requests) == 2


def test_reads_are_retried_too() -> None:
    job = reply(200, {"jobId": "j1", "status": "completed"})
    http, slept = ScriptedHttp(requests.ConnectionError("reset"), job), list[float]()
    assert client(http, slept).get_job("j1")["status"] == "completed"
    assert "Idempotency-Key" not in http.requests[0]["headers"]
