"""One answer to "is this Google error worth another try?", for every Google adapter.

Firestore, Cloud Storage, Pub/Sub and Text-to-Speech raise ``google.api_core`` exceptions;
the Gemini SDK raises its own with an HTTP status and the JSON error body. Both carry the
same ``google.rpc`` details, read here by type, never by message text:

- ``QuotaFailure``: a violated quota whose value is 0 (the project has no billing or no
  access) or that counts per day cannot recover by waiting within a job: permanent.
- ``RetryInfo``: the least delay before another try, which retries must honour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as api_exceptions

from panelflow.domain.errors import (
    ConfigurationError,
    PanelflowError,
    ProviderError,
    QuotaExhausted,
    TransientError,
)

# HTTP statuses that say "try again" (request timeout, too many requests, server side).
RETRYABLE_HTTP_STATUSES = (408, 429, 500, 502, 503, 504)
# google.api_core exceptions that say "try again", not "you are wrong". ResourceExhausted
# is a TooManyRequests; Aborted is lock contention (Firestore); ConnectionError is the
# socket giving up under Cloud Storage's HTTP transport.
TRANSIENT_API_ERRORS: tuple[type[Exception], ...] = (
    api_exceptions.ServiceUnavailable,
    api_exceptions.DeadlineExceeded,
    api_exceptions.InternalServerError,
    api_exceptions.BadGateway,
    api_exceptions.GatewayTimeout,
    api_exceptions.TooManyRequests,
    api_exceptions.Aborted,
    ConnectionError,
)
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?)s\s*")


@dataclass(frozen=True)
class QuotaVerdict:
    """What the details of an error say about quotas."""

    # Why waiting cannot help ("" when it can, or nothing was said).
    hopeless: str = ""
    # Seconds the service asked to wait before trying again (RetryInfo), if it said.
    retry_after: float | None = None


def is_transient(error: BaseException) -> bool:
    """True for a ``google.api_core`` error (or a connection error) worth another try."""
    if isinstance(error, api_exceptions.RetryError):
        return True
    if isinstance(error, TRANSIENT_API_ERRORS):
        return not quota_verdict(_details_of(error)).hopeless
    return isinstance(error, api_exceptions.ServerError) and not isinstance(
        error, api_exceptions.MethodNotImplemented
    )


def quota_verdict(details: Iterable[Any]) -> QuotaVerdict:
    """Reads ``google.rpc`` details given as JSON dicts (REST) or protobuf messages (gRPC)."""
    hopeless = ""
    retry_after: float | None = None
    for detail in details or ():
        kind = _type_of(detail)
        if kind == "QuotaFailure":
            for violation in _get(detail, "violations") or ():
                hopeless = hopeless or _hopeless_violation(violation)
        elif kind == "ErrorInfo":
            metadata = _get(detail, "metadata") or {}
            if str(metadata.get("quota_limit_value", "")).strip() == "0":
                hopeless = hopeless or _NO_QUOTA
        elif kind == "RetryInfo":
            retry_after = _seconds(_get(detail, "retryDelay", "retry_delay"))
    return QuotaVerdict(hopeless=hopeless, retry_after=retry_after)


_NO_QUOTA = (
    "the project has no quota for this model (limit 0): enable billing on the Google Cloud "
    "project or pick a model the project may use"
)
_DAILY = (
    "the daily quota for this model is used up: it resets at midnight Pacific time, or "
    "raise it (billing tier) in the Google Cloud console"
)


def _hopeless_violation(violation: Any) -> str:
    if isinstance(violation, dict):
        value = str(violation.get("quotaValue", "")).strip()
    else:
        # A protobuf int64 has no presence: 0 means "limit 0" only in a violation that names
        # its quota (newer services); older ones fill subject and description only.
        named = _get(violation, "quota_id") or _get(violation, "quota_metric")
        value = str(_get(violation, "quota_value")) if named else ""
    if value == "0":
        return _NO_QUOTA
    names = " ".join(
        str(_get(violation, key) or "")
        for key in ("quotaId", "quota_id", "quotaMetric", "quota_metric", "subject")
    ).lower()
    if "perday" in names.replace("_", "").replace("-", "") or "per_day" in names:
        return _DAILY
    return ""


def _type_of(detail: Any) -> str:
    if isinstance(detail, dict):
        return str(detail.get("@type", "")).rsplit(".", 1)[-1]
    descriptor = getattr(detail, "DESCRIPTOR", None)
    return str(getattr(descriptor, "name", type(detail).__name__))


def _get(item: Any, *names: str) -> Any:
    for name in names:
        if isinstance(item, dict):
            if name in item:
                return item[name]
        elif hasattr(item, name):
            return getattr(item, name)
    return None


def _seconds(duration: Any) -> float | None:
    """A google.protobuf.Duration as JSON ("1.5s") or as a message (seconds, nanos)."""
    if duration is None:
        return None
    if isinstance(duration, str):
        match = _DURATION.fullmatch(duration)
        return float(match.group(1)) if match else None
    seconds = getattr(duration, "seconds", None)
    if seconds is None:
        return None
    return float(seconds) + float(getattr(duration, "nanos", 0) or 0) / 1e9


def _details_of(error: BaseException) -> list[Any]:
    try:
        return list(getattr(error, "details", None) or ())
    except Exception:  # details are decoded lazily from gRPC trailers and may be malformed
        return []


def _credentials_error(error: BaseException, service: str, field: str) -> PanelflowError | None:
    """Credentials missing, unreachable or refused; None for any other error."""
    from google.auth import exceptions as auth_exceptions

    if isinstance(error, auth_exceptions.DefaultCredentialsError):
        return ConfigurationError(
            f"{service} needs Application Default Credentials (a service account on Cloud "
            "Functions, or gcloud auth application-default login)",
            field=field or None,
        )
    if isinstance(error, auth_exceptions.TransportError):
        return TransientError(f"Could not reach the credentials service for {service}")
    if isinstance(error, (api_exceptions.Unauthorized, api_exceptions.Forbidden)):
        return ProviderError(
            f"{service} refused the credentials; check that the service account may use it"
        )
    return None


def translate(error: BaseException, service: str, *, field: str = "") -> PanelflowError:
    """A ``google.api_core`` or ``google.auth`` exception as the core's error, by type.

    Args:
        error: what the client library raised.
        service: the service in words ("Cloud Text-to-Speech", "the job store", ...).
        field: the settings variable a configuration problem points at.
    """

    if isinstance(error, api_exceptions.RetryError):
        cause = type(error.cause).__name__ if error.cause else "errors"
        return TransientError(
            f"{service} kept failing ({cause}) until the retry budget ran out; try again later"
        )
    verdict = quota_verdict(_details_of(error))
    if verdict.hopeless and isinstance(error, api_exceptions.TooManyRequests):
        return QuotaExhausted(f"{service}: {verdict.hopeless}")
    if is_transient(error):
        return TransientError(
            f"{service} is busy or unavailable ({type(error).__name__}); try again later",
            retry_after=verdict.retry_after,
        )
    refused = _credentials_error(error, service, field)
    if refused is not None:
        return refused
    detail = " ".join(str(getattr(error, "message", "") or error).split())[:300]
    if isinstance(error, api_exceptions.BadRequest):
        return ProviderError(f"{service} refused the request: {detail}")
    return ProviderError(f"{service} failed ({type(error).__name__}): {detail}")
