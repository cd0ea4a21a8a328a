"""Request bodies: pydantic models that list every bad field with a reason."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from panelflow.domain.errors import ValidationFailed
from panelflow.domain.models import JobRequest
from panelflow.settings import Settings

# Everything below U+0020 except tab and newline, plus DEL and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class StartJobBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    story: str
    style: str | None = None
    panels: int | None = None
    language: str | None = None

    @field_validator("story")
    @classmethod
    def _clean_story(cls, value: str) -> str:
        value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
        if not value:
            raise ValueError("must not be empty")
        return value


def parse_start_job(payload: Any, settings: Settings) -> JobRequest:
    """Validates a decoded JSON body against the schema and the configured limits.

    Raises:
        ValidationFailed: with one entry per bad field.
    """
    if not isinstance(payload, dict):
        raise ValidationFailed([{"field": "body", "reason": "must be a JSON object"}])
    try:
        body = StartJobBody.model_validate(payload)
    except ValidationError as error:
        raise ValidationFailed(
            [
                {"field": ".".join(str(p) for p in item["loc"]) or "body", "reason": _reason(item)}
                for item in error.errors()
            ]
        ) from None
    errors: list[dict[str, str]] = []
    if len(body.story) > settings.max_story_chars:
        errors.append(
            {
                "field": "story",
                "reason": f"must be at most {settings.max_story_chars} characters "
                f"(got {len(body.story)})",
            }
        )
    style = (body.style or settings.styles[0]).strip().lower()
    if style not in settings.styles:
        errors.append({"field": "style", "reason": f"must be one of {', '.join(settings.styles)}"})
    panels = settings.default_panels if body.panels is None else body.panels
    if not settings.min_panels <= panels <= settings.max_panels:
        errors.append(
            {
                "field": "panels",
                "reason": f"must be between {settings.min_panels} and {settings.max_panels}",
            }
        )
    language = (body.language or "en").strip().lower()
    if language not in settings.languages:
        errors.append(
            {"field": "language", "reason": f"must be one of {', '.join(settings.languages)}"}
        )
    if errors:
        raise ValidationFailed(errors)
    return JobRequest(story=body.story, style=style, panels=panels, language=language)


_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "a boolean",
    "dict_type": "an object",
}


def _reason(item: Any) -> str:
    kind = item.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]}"
    message = str(item.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")
