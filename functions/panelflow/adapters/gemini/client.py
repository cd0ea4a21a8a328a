"""The google-genai client, and one call to ``generate_content`` with our retry policy.

Retries are ours, not the SDK's: the SDK would retry a 429 whose quota cannot recover, ignore
the service's ``RetryInfo`` delay, and re-send a timed-out image request (each of which is
billed again). So the client is built with a single attempt and ``generate`` retries only
transient errors, waits at least the delay the service asked for, stays within a budget of
waiting, and retries a timeout only when the policy says so.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google import genai
from google.genai import types

from panelflow.adapters.gemini.errors import TIMEOUTS, TRANSLATED, translate_error
from panelflow.domain import costs
from panelflow.domain.errors import TransientError
from panelflow.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    initial_s: float = 1.0
    max_s: float = 10.0
    # Seconds of waiting between tries, in total, before handing back to the queue.
    budget_s: float = 60.0
    # A timed-out generation may still be billed: images are not re-sent by default.
    retry_timeouts: bool = True

    def backoff(self, attempt: int) -> float:
        base = min(self.max_s, self.initial_s * 2.0 ** (attempt - 1))
        return base + random.uniform(0, self.initial_s)


def make_client(settings: Settings) -> genai.Client:
    """A client for the Gemini API (API key) or Vertex AI (ADC), with a per-request timeout.

    One attempt per call: ``generate`` owns retries (see the module docstring).
    """
    http_options = types.HttpOptions(
        base_url=settings.gemini_base_url or None,
        api_version=settings.gemini_api_version or None,
        timeout=max(1, round(settings.gemini_timeout_s * 1000)),
        # attempts=1 also turns off the SDK's implicit reconnect-and-retry.
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    if settings.gemini_vertex:
        return genai.Client(
            vertexai=True,
            project=settings.project_id,
            location=settings.gemini_location,
            http_options=http_options,
        )
    return genai.Client(vertexai=False, api_key=settings.gemini_api_key, http_options=http_options)


def policy_from(settings: Settings, *, images: bool) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.gemini_attempts,
        initial_s=settings.retry_initial_s,
        max_s=settings.retry_max_s,
        budget_s=settings.gemini_retry_budget_s,
        retry_timeouts=not images,
    )


@dataclass(frozen=True)
class Call:
    """What a generate call is, for errors and for the cost ledger."""

    action: str
    model: str
    model_variable: str
    kind: str  # plan | reference | image
    # Units a timed-out call is presumed to have used (it may have been billed).
    timeout_units: Mapping[str, int] | None = None


def generate(
    client: genai.Client,
    call: Call,
    *,
    contents: Any,
    config: types.GenerateContentConfig,
    policy: RetryPolicy,
) -> types.GenerateContentResponse:
    """One ``generate_content`` with retries (see the module docstring), translated errors.

    Raises:
        TransientError: still failing when the attempts or the waiting budget ran out; its
            ``retry_after`` carries the delay the service asked for, if any.
        QuotaExhausted, ModelUnavailable, ProviderError: waiting cannot help.
    """
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return client.models.generate_content(
                model=call.model, contents=contents, config=config
            )
        except TRANSLATED as error:
            translated = translate_error(
                error, call.action, model=call.model, model_variable=call.model_variable
            )
            timed_out = isinstance(error, TIMEOUTS)
            if timed_out:
                costs.record(
                    costs.PaidCall(
                        kind=call.kind,
                        provider="google",
                        model=call.model,
                        units=dict(call.timeout_units or {}),
                        outcome="timeout",
                    )
                )
            if not isinstance(translated, TransientError) or attempt >= policy.attempts:
                raise translated from error
            if timed_out and not policy.retry_timeouts:
                raise translated from error
            delay = max(policy.backoff(attempt), translated.retry_after or 0.0)
            if waited + delay > policy.budget_s:
                raise TransientError(
                    f"{translated.message} (asked to wait {delay:.0f} s, beyond this call's "
                    "budget: handed back to the queue)",
                    retry_after=delay,
                ) from error
            logger.info("%s: retrying in %.1f s after %s", call.action, delay, translated.code)
            time.sleep(delay)
            waited += delay


def token_units(response: types.GenerateContentResponse) -> dict[str, int]:
    """Billed tokens of a reply: the prompt in; the answer and the model's thinking out."""
    usage = response.usage_metadata
    if usage is None:
        return {}
    return {
        "inputTokens": int(usage.prompt_token_count or 0),
        "outputTokens": int(usage.candidates_token_count or 0)
        + int(usage.thoughts_token_count or 0),
    }
