"""Gemini SDK and transport exceptions as the core's errors, by type and status code."""

from __future__ import annotations

import json

from google.auth import exceptions as auth_errors
from google.genai import errors as genai_errors

from panelflow.adapters.google_errors import RETRYABLE_HTTP_STATUSES, quota_verdict
from panelflow.domain.errors import (
    ConfigurationError,
    ModelUnavailable,
    PanelflowError,
    ProviderError,
    QuotaExhausted,
    TransientError,
)


def _transport_errors() -> dict[str, tuple[type[Exception], ...]]:
    """Exception classes of whichever HTTP stacks the SDK may use (httpx2, httpx, requests)."""
    import requests

    found: dict[str, list[type[Exception]]] = {
        "timeout": [requests.exceptions.Timeout],
        "transient": [requests.exceptions.ConnectionError],
        "any": [requests.exceptions.RequestException],
    }
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        found["timeout"].append(module.TimeoutException)
        found["transient"] += [module.NetworkError, module.RemoteProtocolError]
        found["any"].append(module.TransportError)
    return {kind: tuple(classes) for kind, classes in found.items()}


_TRANSPORT = _transport_errors()
TIMEOUTS = _TRANSPORT["timeout"]
_TRANSIENT_TRANSPORT = _TRANSPORT["transient"]
# google.auth errors arise with Vertex AI, when Application Default Credentials are fetched;
# UnknownApiResponseError when a reply is not JSON (a proxy's error page, a cut-off body);
# generate_content lets the bare JSONDecodeError through for the same thing.
NOT_JSON: tuple[type[Exception], ...] = (genai_errors.UnknownApiResponseError, json.JSONDecodeError)
TRANSLATED: tuple[type[Exception], ...] = (
    genai_errors.APIError,
    *NOT_JSON,
    auth_errors.GoogleAuthError,
    *_TRANSPORT["any"],
)
MODEL_VARIABLES = ("PANELFLOW_PLANNER_MODEL", "PANELFLOW_IMAGE_MODEL")


def translate_error(
    error: Exception, action: str, *, model: str = "", model_variable: str = ""
) -> PanelflowError:
    """Maps an SDK or transport exception to the core's errors by type and status code.

    ``model_variable`` names the setting that chose ``model``, for a model not found.
    """
    if isinstance(error, genai_errors.APIError):
        return _api_error(error, action, model=model, model_variable=model_variable)
    if isinstance(error, NOT_JSON):
        return TransientError(
            f"{action}: the Gemini API answered with something that is not JSON; try again later"
        )
    if isinstance(error, auth_errors.GoogleAuthError):
        return _credentials_error(error, action)
    return _transport_error(error, action)


def _credentials_error(error: Exception, action: str) -> PanelflowError:
    """Application Default Credentials, with Vertex AI: missing, unreachable or refused."""
    if isinstance(error, auth_errors.DefaultCredentialsError):
        return ConfigurationError(
            f"{action}: Vertex AI needs Application Default Credentials (a service account on "
            "Cloud Functions, or gcloud auth application-default login)",
            field="GOOGLE_GENAI_USE_VERTEXAI",
        )
    if isinstance(error, auth_errors.TransportError):
        return TransientError(f"{action}: the credentials service could not be reached")
    return ProviderError(f"{action}: the Google credentials were refused ({error})")


def _transport_error(error: Exception, action: str) -> PanelflowError:
    if isinstance(error, TIMEOUTS):
        return TransientError(f"{action}: the Gemini API did not answer in time; try again later")
    if isinstance(error, _TRANSIENT_TRANSPORT):
        return TransientError(f"{action}: the Gemini API could not be reached; try again later")
    # Other transport failures (unsupported URL, TLS) do not heal by waiting.
    return ProviderError(f"{action}: the request to the Gemini API failed ({type(error).__name__})")


def _api_error(
    error: genai_errors.APIError, action: str, *, model: str, model_variable: str
) -> PanelflowError:
    code = error.code
    detail = f"{code} {error.status or ''}".strip()
    body = error.details if isinstance(error.details, dict) else {}
    verdict = quota_verdict((body.get("error") or {}).get("details") or ())
    if code == 429 and verdict.hopeless:
        return QuotaExhausted(f"{action}: the Gemini API refused ({detail}): {verdict.hopeless}")
    if code in RETRYABLE_HTTP_STATUSES or (
        isinstance(error, genai_errors.ServerError) and code != 501
    ):
        return TransientError(
            f"{action}: the Gemini API is busy or unavailable ({detail}); try again later",
            retry_after=verdict.retry_after,
        )
    if code in (401, 403):
        return ProviderError(
            f"{action}: the Gemini API refused the credentials ({detail}); check "
            "GEMINI_API_KEY or the Vertex AI service account's permissions"
        )
    if code == 404:
        variables = model_variable or " or ".join(MODEL_VARIABLES)
        named = f"the Gemini model {model}" if model else "the Gemini model"
        return ModelUnavailable(
            f"{action}: {named} was not found ({detail}); it may be retired. Set {variables} "
            "to a current model (panelflow doctor checks the configured ones)",
            field=model_variable or None,
        )
    message = " ".join(str(error.message or "").split())[:300]
    return ProviderError(f"{action}: the Gemini API rejected the request ({detail}): {message}")
