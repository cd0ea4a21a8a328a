"""The Gemini models Panelflow knows: what each can do, and which ids are retired.

Checked against Google's Gemini deprecations page (ai.google.dev/gemini-api/docs/deprecations)
in November 2026: the 2.5 Flash text and image models and the 3.x preview image models are
past their shutdown dates; the 3.x GA models below have no shutdown date announced, except
3.1 Flash-Lite (May 7, 2027). A retired id answers 404 NOT_FOUND.
"""

from __future__ import annotations

from dataclasses import dataclass

# Aspect ratios every Gemini image model accepts; 3.1 Flash Image adds extreme ones.
_COMMON_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


@dataclass(frozen=True)
class GeminiModel:
    model_id: str
    kind: str  # text | image
    # Reference images one request follows well (the published limit for the model).
    max_references: int = 0
    # Thinking models: image models send draft images marked ``thought`` before the final one.
    thinking: bool = False
    aspect_ratios: tuple[str, ...] = ()


MODELS: dict[str, GeminiModel] = {
    model.model_id: model
    for model in (
        GeminiModel("gemini-3.5-flash", "text", thinking=True),
        # Newer GA Flash releases (July to September 2026), no shutdown date announced.
        GeminiModel("gemini-3.6-flash", "text", thinking=True),
        GeminiModel("gemini-3.7-flash", "text", thinking=True),
        GeminiModel("gemini-3.8-flash", "text", thinking=True),
        GeminiModel("gemini-3.5-flash-lite", "text", thinking=True),
        GeminiModel("gemini-3.1-flash-lite", "text", thinking=True),
        GeminiModel("gemini-3.1-pro-preview", "text", thinking=True),
        GeminiModel(
            "gemini-3.1-flash-image",
            "image",
            max_references=14,
            thinking=True,
            aspect_ratios=(*_COMMON_RATIOS, "1:4", "4:1", "1:8", "8:1"),
        ),
        GeminiModel(
            "gemini-3-pro-image",
            "image",
            max_references=14,
            thinking=True,
            aspect_ratios=_COMMON_RATIOS,
        ),
    )
}
# Retired id -> the replacement Google recommends.
RETIRED: dict[str, str] = {
    "gemini-2.0-flash": "gemini-3.5-flash",
    "gemini-2.0-flash-lite": "gemini-3.1-flash-lite",
    "gemini-2.5-flash": "gemini-3.5-flash",
    "gemini-2.5-flash-lite": "gemini-3.1-flash-lite",
    "gemini-2.5-pro": "gemini-3.1-pro-preview",
    "gemini-3-pro-preview": "gemini-3.1-pro-preview",
    "gemini-3-flash-preview": "gemini-3.5-flash",
    "gemini-3.1-flash-lite-preview": "gemini-3.1-flash-lite",
    "gemini-2.5-flash-image": "gemini-3.1-flash-image",
    "gemini-2.5-flash-image-preview": "gemini-3.1-flash-image",
    "gemini-3-pro-image-preview": "gemini-3-pro-image",
    "gemini-3.1-flash-image-preview": "gemini-3.1-flash-image",
}
DEFAULT_PLANNER_MODEL = "gemini-3.5-flash"
DEFAULT_IMAGE_MODEL = "gemini-3.1-flash-image"
# What an unlisted model (allowed with PANELFLOW_ALLOW_UNLISTED_MODELS) is assumed to do:
# the smallest published reference limit, and the ratio every image model takes.
UNLISTED_IMAGE = GeminiModel("", "image", max_references=3, thinking=True, aspect_ratios=("3:2",))


def image_model(model_id: str) -> GeminiModel:
    """The registry entry for an image model, or conservative defaults for an unlisted one."""
    known = MODELS.get(model_id)
    if known is not None and known.kind == "image":
        return known
    return GeminiModel(
        model_id,
        "image",
        max_references=UNLISTED_IMAGE.max_references,
        thinking=True,
        aspect_ratios=UNLISTED_IMAGE.aspect_ratios,
    )


def problem_with(model_id: str, kind: str) -> str:
    """Why ``model_id`` cannot serve as a ``kind`` model, or "" when it can."""
    if model_id in RETIRED:
        return f"{model_id} is retired; use {RETIRED[model_id]}"
    known = MODELS.get(model_id)
    listed = ", ".join(m.model_id for m in MODELS.values() if m.kind == kind)
    if known is None:
        return f"{model_id!r} is not a known Gemini {kind} model (known: {listed})"
    if known.kind != kind:
        return f"{model_id} is a {known.kind} model, not a {kind} model (known: {listed})"
    return ""
