"""Reading Gemini replies: finish reasons and refusals, in words a reader understands."""

from __future__ import annotations

from google.genai import types

# Finish reasons and block reasons, in words a reader of the panel's error understands.
FINISH_REASONS = {
    "SAFETY": "the safety filter stopped it",
    "IMAGE_SAFETY": "the image safety filter stopped it",
    "PROHIBITED_CONTENT": "it would show prohibited content",
    "IMAGE_PROHIBITED_CONTENT": "it would show prohibited content",
    "BLOCKLIST": "the prompt contains blocked terms",
    "SPII": "it would show personal information",
    "RECITATION": "it resembled protected material too closely",
    "IMAGE_RECITATION": "it resembled protected material too closely",
    "NO_IMAGE": "the model answered without a picture",
    "IMAGE_OTHER": "the model could not produce a picture",
}
BLOCK_REASONS = {
    "SAFETY": "the prompt was blocked by the safety filter",
    "IMAGE_SAFETY": "the prompt was blocked by the image safety filter",
    "PROHIBITED_CONTENT": "the prompt touches prohibited content",
    "BLOCKLIST": "the prompt contains blocked terms",
}


def name_of(value: object) -> str:
    return str(getattr(value, "value", value) or "")


def finish_reason(response: types.GenerateContentResponse) -> str:
    candidates = response.candidates or []
    return name_of(candidates[0].finish_reason) if candidates else "none"


def refusal(response: types.GenerateContentResponse) -> str:
    """Why the model refused, in words, or "" when it did not."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        reason = name_of(feedback.block_reason)
        return BLOCK_REASONS.get(reason, f"the prompt was blocked ({reason})")
    reason = finish_reason(response)
    if reason in FINISH_REASONS and reason != "NO_IMAGE":
        return FINISH_REASONS[reason]
    return ""
