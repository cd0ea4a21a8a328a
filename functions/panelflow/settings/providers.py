"""The provider parts of the settings: the price table and the model registry check.

Read by the settings table (``panelflow.settings.table``); kept apart so the provider
choices and their prices are found, and changed, in one place.
"""

from __future__ import annotations

import json

from panelflow.domain import provider_models
from panelflow.domain.errors import ConfigurationError

# Estimated prices in USD for the cost ledger (panelflow.domain.costs): per million tokens
# (inputTokens, outputTokens) or characters, and per image. Sources, read November 2026:
# ai.google.dev/gemini-api/docs/pricing (paid tier, images at 1K resolution) and
# cloud.google.com/text-to-speech/pricing (beyond the free tier). Estimates only: the bill
# is the truth. PANELFLOW_PRICES (a JSON object of the same shape) overrides entries.
PRICES_AS_OF = "2026-11"
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gemini-3.5-flash": {"inputTokens": 0.50, "outputTokens": 3.00},
    "gemini-3.1-flash-lite": {"inputTokens": 0.25, "outputTokens": 1.50},
    "gemini-3.1-pro-preview": {"inputTokens": 2.00, "outputTokens": 12.00},
    "gemini-3.1-flash-image": {"inputTokens": 0.50, "images": 0.067},
    "gemini-3-pro-image": {"inputTokens": 2.00, "images": 0.134},
    "standard": {"characters": 4.00},
    "wavenet": {"characters": 16.00},
    "neural2": {"characters": 16.00},
    "chirp3-hd": {"characters": 30.00},
    "studio": {"characters": 160.00},
}


def check_model(variable: str, model: str, kind: str, *, allow_unlisted: bool) -> None:
    """Refuses retired models always, unknown ones unless PANELFLOW_ALLOW_UNLISTED_MODELS."""
    problem = provider_models.problem_with(model, kind)
    if problem and (model in provider_models.RETIRED or not allow_unlisted):
        raise ConfigurationError(
            f"{variable}: {problem}. Set {variable} to a current model, or "
            "PANELFLOW_ALLOW_UNLISTED_MODELS=true for one released since this list",
            field=variable,
        )


def prices_from(variable: str, raw: str) -> dict[str, dict[str, float]]:
    """DEFAULT_PRICES with the entries of PANELFLOW_PRICES (same shape) replacing theirs."""
    prices = {model: dict(rates) for model, rates in DEFAULT_PRICES.items()}
    if not raw.strip():
        return prices
    example = '{"gemini-3.5-flash": {"inputTokens": 0.5, "outputTokens": 3.0}}'
    try:
        given = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"{variable} must be a JSON object such as {example}: {error.msg}", field=variable
        ) from None
    units = ("inputTokens", "outputTokens", "images", "characters")
    if not isinstance(given, dict) or not all(
        isinstance(rates, dict)
        and all(
            unit in units and isinstance(rate, int | float) and rate >= 0
            for unit, rate in rates.items()
        )
        for rates in given.values()
    ):
        raise ConfigurationError(
            f"{variable} must map a model or voice tier to non-negative prices per unit "
            f"({', '.join(units)}), such as {example}",
            field=variable,
        )
    prices.update(
        {str(model): {u: float(r) for u, r in rates.items()} for model, rates in given.items()}
    )
    return prices
