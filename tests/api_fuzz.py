"""Hypothesis strategies for fuzzing the HTTP API, and the checks every answer must pass.

Requests mix well-formed and hostile parts: any method, known routes with real, foreign and
malformed ids, unknown paths, missing, forged and valid tokens, odd content types, bodies
that are valid, nearly valid, deeply nested, duplicated, non-UTF-8 or random bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import openapi_spec
from fakes.auth import fake_token


def fuzz_settings(examples: int) -> settings:
    """The same examples on every run (no example database), however slow the API under test."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


STYLES = ["storybook", "manga", "noir", "watercolor", "pop-art"]
LANGUAGES = ["en", "de", "es", "fr", "it", "pt", "nl", "ja", "ar"]
USERS = ["fuzz-owner", "fuzz-other"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    query: dict[str, str] = field(default_factory=dict)


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _valid_body() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"story": st.text(min_size=1, max_size=200).filter(lambda s: s.strip() != "")},
        optional={
            "style": st.sampled_from(STYLES),
            "panels": st.integers(min_value=1, max_value=4),
            "language": st.sampled_from(LANGUAGES),
        },
    )


def _near_valid_body() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "story": st.one_of(
                st.text(max_size=50), st.just(" \t\n"), st.just("x" * 5001), _json_values
            ),
            "style": st.one_of(st.sampled_from([*STYLES, "cubism", "", "NOIR "]), _json_values),
            "panels": st.one_of(
                st.integers(min_value=-5, max_value=40), st.floats(), st.text(max_size=3)
            ),
            "language": st.one_of(st.sampled_from([*LANGUAGES, "xx", ""]), _json_values),
            "extra": _json_values,
        },
    )


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


_raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.just(b'{"story": "a", "story": "b"}'),
    st.just(b'{"story": "ok", "panels": 1e309}'),
    st.just(b'{"story": "ok", "panels": NaN}'),
    st.just(b'{"story": "\\ud800"}'),
    st.just(b'{"story": "caf\xe9"}'),
    st.just(b'{"story": "' + b"x" * 70_000 + b'"}'),
    st.just(b""),
)

_bodies = st.one_of(
    _valid_body().map(_encode),
    _near_valid_body().map(_encode),
    _json_values.map(_encode),
    _raw_bodies,
    st.none(),
)

# What an HTTP header value may hold: visible ASCII, space and the Latin-1 letters.
_header_text = st.characters(
    codec="latin-1", exclude_categories=["Cc"], exclude_characters="\x85\xa0"
)

_tokens = st.one_of(
    st.just(None),
    st.text(alphabet=_header_text, max_size=30).map(lambda text: f"Bearer {text}"),
    st.sampled_from(["Basic dXNlcjpwdw==", "Bearer", "bearer  ", "Bearer a.e30.b", "Token x"]),
    st.text(alphabet=_header_text, max_size=40),
)

_content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ]
    ),
    st.none(),
)

_ids = st.one_of(
    st.text(alphabet="abcdef0123456789", min_size=1, max_size=32),
    st.sampled_from(["", "..", "a/b", "%2e%2e", "x" * 65, "ü", "'", "<script>"]),
)


def _draw_headers(
    draw: st.DrawFn, users: tuple[str, ...], token: Callable[[str], str]
) -> dict[str, str]:
    """Authorization, Content-Type, Idempotency-Key and Origin, each often valid, or absent."""
    headers: dict[str, str] = {}
    # Mostly real tokens (so requests get past authentication), otherwise anything.
    if draw(st.integers(min_value=0, max_value=9)) < 7:
        authorization: str | None = f"Bearer {token(draw(st.sampled_from(users)))}"
    else:
        authorization = draw(_tokens)
    if authorization is not None:
        headers["Authorization"] = authorization
    if draw(st.integers(min_value=0, max_value=9)) < 7:
        content_type: str | None = "application/json"
    else:
        content_type = draw(_content_types)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(
            st.one_of(
                st.text(alphabet="abc123-", min_size=1, max_size=8),
                st.text(alphabet=_header_text, max_size=300),
            )
        )
    if draw(st.booleans()):
        headers["Origin"] = draw(st.sampled_from(["http://127.0.0.1:1", "null", "https://x.y"]))
    return headers


@st.composite
def requests(
    draw: st.DrawFn,
    known_job: str = "",
    users: tuple[str, ...] = tuple(USERS),
    token: Callable[[str], str] = fake_token,
) -> Request:
    """One request to the API; ``known_job`` is an id that exists, owned by ``users[0]``.

    ``token`` makes a valid ID token for a user (the fake's, or the Auth emulator's).
    """
    job = draw(st.one_of(st.just(known_job), _ids)) if known_job else draw(_ids)
    index = draw(st.one_of(st.integers(min_value=0, max_value=3), st.integers(-5, 5000)))
    job_routes = [
        f"/jobs/{job}",
        f"/jobs/{job}:cancel",
        f"/jobs/{job}:retry",
        f"/jobs/{job}/panels/{index}:regenerate",
        f"/jobs/{job}:delete",
        f"/jobs/{job}/panels",
    ]
    random_path = st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#"),
        max_size=30,
    ).map(lambda text: "/" + text.lstrip("/"))
    # Weighted: half the requests start jobs, most of the rest aim at the job routes.
    scenario = draw(st.integers(min_value=0, max_value=9))
    if scenario < 5:
        path, method = draw(st.sampled_from(["/jobs", "/jobs/"])), "POST"
    elif scenario < 8:
        path = draw(st.sampled_from(job_routes))
        method = draw(st.sampled_from(["GET", "POST", "POST", "DELETE"]))
    elif scenario == 8:
        path = draw(st.sampled_from(["/jobs", "/healthz"]))
        method = draw(st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "OPTIONS"]))
    else:
        path = draw(random_path)
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    headers = _draw_headers(draw, users, token)
    query = {}
    if draw(st.booleans()):
        query["limit"] = draw(st.one_of(st.integers(-10, 500).map(str), st.text(max_size=6)))
    body = draw(_bodies) if method in ("POST", "PUT", "PATCH") else None
    return Request(method=method, path=path, headers=headers, body=body, query=query)


@dataclass
class Tally:
    """What the fuzzer sent and what came back."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    bad_error_shapes: list[str] = field(default_factory=list)
    bad_bodies: list[str] = field(default_factory=list)
    accepted: int = 0
    # Distinct jobs the 202s named (a repeated Idempotency-Key names its first job again).
    accepted_jobs: set[str] = field(default_factory=set)

    def record(self, request: Request, status: int, body: Any) -> None:
        self.requests += 1
        self.statuses[status] += 1
        where = f"{request.method} {request.path} -> {status}"
        if status >= 500:
            self.server_errors.append(f"{where}: {body}")
        if 400 <= status < 600 and request.method != "HEAD":
            problems = openapi_spec.error_shape_errors(body)
            if problems:
                self.bad_error_shapes.append(f"{where}: {problems[0]} in {body!r:.200}")
        template = openapi_spec.route_of(request.path)
        if template and status < 600 and status != 405 and body is not None:
            documented = openapi_spec.response_spec(template, request.method, status)
            if documented is not None:
                problems = openapi_spec.body_errors(template, request.method, status, body)
                if problems:
                    self.bad_bodies.append(f"{where}: {problems[0]}")
        if request.method == "POST" and template == "/jobs" and status == 202:
            self.accepted += 1
            self.accepted_jobs.add(str(body["jobId"]))

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "status_5xx": sum(n for status, n in self.statuses.items() if status >= 500),
            "status_4xx": sum(n for status, n in self.statuses.items() if 400 <= status < 500),
            "status_2xx": sum(n for status, n in self.statuses.items() if status < 300),
            "accepted_202": self.accepted,
            "distinct_jobs_accepted": len(self.accepted_jobs),
            "bad_error_shapes": len(self.bad_error_shapes),
            "bodies_off_spec": len(self.bad_bodies),
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
        }
