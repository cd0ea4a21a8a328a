"""Gemini through google-genai: the story planner (structured output) and the image generator.

Split by concern: ``client`` (the SDK client and one call with our retry policy), ``errors``
(SDK and transport exceptions as the core's errors), ``replies`` (finish and block reasons),
``planner`` and ``images`` (the two adapters). Both adapters take a ``genai.Client`` and keep a
reference to it: an unreferenced client is closed by its finalizer, even in the middle of a
call. ``panelflow doctor`` uses ``models.get`` through the same client.
"""

from __future__ import annotations

from panelflow.adapters.gemini.client import RetryPolicy, make_client, policy_from
from panelflow.adapters.gemini.errors import translate_error
from panelflow.adapters.gemini.images import ASPECT_RATIO, GeminiImageGenerator, image_mime_type
from panelflow.adapters.gemini.planner import (
    GeminiStoryPlanner,
    PlannedCharacter,
    PlannedLine,
    PlannedPanel,
    PlannedStory,
)

__all__ = [
    "ASPECT_RATIO",
    "GeminiImageGenerator",
    "GeminiStoryPlanner",
    "PlannedCharacter",
    "PlannedLine",
    "PlannedPanel",
    "PlannedStory",
    "RetryPolicy",
    "image_mime_type",
    "make_client",
    "policy_from",
    "translate_error",
]
