"""SDK exceptions become the core's errors by type and status code, never by message text."""

from __future__ import annotations

import httpx2
import pytest
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.genai import errors as genai_errors

from panelflow.adapters import cloud_tts, gemini
from panelflow.domain.errors import (
    ConfigurationError,
    ModelUnavailable,
    PanelflowError,
    ProviderError,
    TransientError,
)


def _api_error(code: int, status: str) -> genai_errors.APIError:
    body = {
        "error": {"code": code, "message": "transient-looking words: try again", "status": status}
    }
    cls = genai_errors.ServerError if code >= 500 else genai_errors.ClientError
    return cls(code, body)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_api_error(408, "DEADLINE_EXCEEDED"), TransientError),
        (_api_error(429, "RESOURCE_EXHAUSTED"), TransientError),
        (_api_error(500, "INTERNAL"), TransientError),
        (_api_error(503, "UNAVAILABLE"), TransientError),
        (_api_error(504, "DEADLINE_EXCEEDED"), TransientError),
        (_api_error(501, "UNIMPLEMENTED"), ProviderError),
        (_api_error(400, "INVALID_ARGUMENT"), ProviderError),
        (_api_error(401, "UNAUTHENTICATED"), ProviderError),
        (_api_error(403, "PERMISSION_DENIED"), ProviderError),
        (_api_error(404, "NOT_FOUND"), ModelUnavailable),
        (httpx2.ReadTimeout("slow"), TransientError),
        (httpx2.ConnectError("refused"), TransientError),
        (httpx2.RemoteProtocolError("closed"), TransientError),
        (httpx2.UnsupportedProtocol("gopher"), ProviderError),
        (auth_exceptions.DefaultCredentialsError("none"), ConfigurationError),
        (auth_exceptions.TransportError("metadata down"), TransientError),
        (auth_exceptions.RefreshError("revoked"), ProviderError),
    ],
)
def test_gemini_errors_by_type(error: Exception, expected: type[PanelflowError]) -> None:
    translated = gemini.translate_error(error, "Drawing panel 1")
    assert type(translated) is expected
    assert translated.message.startswith("Drawing panel 1: ")
    assert translated.retryable is (expected is TransientError)


def test_gemini_bad_request_keeps_the_service_explanation() -> None:
    translated = gemini.translate_error(_api_error(400, "INVALID_ARGUMENT"), "Planning")
    assert translated.message.endswith("(400 INVALID_ARGUMENT): transient-looking words: try again")
    # The words in a message never make an error retryable.
    assert not translated.retryable


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (api_exceptions.ServiceUnavailable("down"), TransientError),
        (api_exceptions.ResourceExhausted("quota"), TransientError),
        (api_exceptions.TooManyRequests("quota"), TransientError),
        (api_exceptions.DeadlineExceeded("slow"), TransientError),
        (api_exceptions.InternalServerError("oops"), TransientError),
        (
            api_exceptions.RetryError("budget", api_exceptions.ServiceUnavailable("x")),
            TransientError,
        ),
        (api_exceptions.MethodNotImplemented("no"), ProviderError),
        (api_exceptions.InvalidArgument("too long"), ProviderError),
        (api_exceptions.PermissionDenied("no"), ProviderError),
        (api_exceptions.Unauthenticated("no"), ProviderError),
        (api_exceptions.NotFound("voice"), ConfigurationError),
        (auth_exceptions.DefaultCredentialsError("none"), ConfigurationError),
    ],
)
def test_tts_errors_by_type(error: Exception, expected: type[PanelflowError]) -> None:
    translated = cloud_tts.translate_error(error)
    assert type(translated) is expected
    assert translated.retryable is (expected is TransientError)
    assert "Text-to-Speech" in translated.message


def test_tts_retry_predicate_covers_only_transient_errors() -> None:
    retry = cloud_tts.make_retry(initial=0.1, maximum=1, budget=5)
    assert retry._predicate(api_exceptions.ServiceUnavailable("x"))
    assert retry._predicate(api_exceptions.ResourceExhausted("x"))
    assert retry._predicate(api_exceptions.DeadlineExceeded("x"))
    assert retry._predicate(api_exceptions.InternalServerError("x"))
    assert not retry._predicate(api_exceptions.InvalidArgument("x"))
    assert not retry._predicate(api_exceptions.PermissionDenied("x"))
