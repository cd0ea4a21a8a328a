"""Request bodies: pydantic models that list every bad field with a reason."""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from panelflow.domain.editing import PanelEdit
from panelflow.domain.errors import ValidationFailed
from panelflow.domain.models import CUSTOM_STYLE, DialogueLine, JobRequest
from panelflow.settings import STYLE_TEXT_CHARS, Settings

# Everything below U+0020 except tab and newline, plus DEL and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _clean_text(value: str) -> str:
    """Text a user sent: valid Unicode, one kind of line break, no control characters, no
    surrounding whitespace. It stays untrusted: prompts fence it as data."""
    if _SURROGATE.search(value):
        # JSON's \ud800 escapes decode to text that no store can encode as UTF-8.
        raise ValueError("must be valid Unicode text (it has an unpaired surrogate)")
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


class StartJobBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    story: str
    style: str | None = None
    panels: int | None = None
    language: str | None = None
    styleText: str | None = None

    @field_validator("styleText")
    @classmethod
    def _clean_style_text(cls, value: str | None) -> str | None:
        return None if value is None else _clean_text(value)

    @field_validator("style", "panels", "language", "styleText", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Leave a field out for its default; null is not one of its documented types.
        if value is None:
            raise ValueError("must not be null (leave the field out for its default)")
        return value

    @field_validator("panels", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        # JSON Schema counts 14.0 as an integer, and so do the clients it generates.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("story")
    @classmethod
    def _clean_story(cls, value: str) -> str:
        value = _clean_text(value)
        if not value:
            raise ValueError("must not be empty")
        return value


# Deeper than any body of ours; refused before Python's recursion limit is reached.
MAX_JSON_DEPTH = 32


def parse_json_body(raw: bytes) -> Any:
    """Decodes a request body as strict JSON: UTF-8, no duplicate keys, finite numbers, a
    bounded depth.

    Raises:
        ValidationFailed: naming the body and the problem.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _body_error("is not UTF-8") from None
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise _body_error(f"nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
    except _BadJson as error:
        raise _body_error(str(error)) from None
    except ValueError:  # JSONDecodeError, and integers too long to convert
        raise _body_error("is not valid JSON") from None


class _BadJson(ValueError):
    pass


def _body_error(reason: str) -> ValidationFailed:
    return ValidationFailed([{"field": "body", "reason": reason}])


def _nesting_depth(text: str) -> int:
    """The deepest bracket nesting outside strings (an upper bound is enough here)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins; refusing them leaves nothing ambiguous.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _BadJson(f"has the key {key!r} more than once")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _BadJson(f"is not valid JSON ({name} is not a JSON number)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadJson(f"has a number out of range ({text[:20]})")
    return value


_Body = TypeVar("_Body", bound=BaseModel)


def _model(payload: Any, model: type[_Body]) -> _Body:
    """The body as ``model``, or every field that does not fit it."""
    if not isinstance(payload, dict):
        raise ValidationFailed([{"field": "body", "reason": "must be a JSON object"}])
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise ValidationFailed(
            [
                {"field": ".".join(str(p) for p in item["loc"]) or "body", "reason": _reason(item)}
                for item in error.errors()
            ]
        ) from None


def parse_start_job(payload: Any, settings: Settings) -> JobRequest:
    """Validates a decoded JSON body against the schema and the configured limits.

    Raises:
        ValidationFailed: with one entry per bad field.
    """
    body = _model(payload, StartJobBody)
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
    style_text = _style_text(style, body.styleText, errors)
    if style not in (*settings.styles, CUSTOM_STYLE):
        errors.append(
            {
                "field": "style",
                "reason": f"must be one of {', '.join((*settings.styles, CUSTOM_STYLE))}",
            }
        )
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
    return JobRequest(
        story=body.story, style=style, panels=panels, language=language, style_text=style_text
    )


def _style_text(style: str, text: str | None, errors: list[dict[str, str]]) -> str:
    """The custom style's description: required with ``custom``, refused without it."""
    if style != CUSTOM_STYLE:
        if text is not None:
            errors.append({"field": "styleText", "reason": f'is only for style "{CUSTOM_STYLE}"'})
        return ""
    if not text:
        errors.append({"field": "styleText", "reason": f'is required with style "{CUSTOM_STYLE}"'})
        return ""
    if len(text) > STYLE_TEXT_CHARS:
        errors.append(
            {
                "field": "styleText",
                "reason": f"must be at most {STYLE_TEXT_CHARS} characters (got {len(text)})",
            }
        )
    return text


class EditLineBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    speaker: str
    text: str
    side: str = "center"

    @field_validator("speaker", "text")
    @classmethod
    def _clean(cls, value: str) -> str:
        return " ".join(_clean_text(value).split())


class EditPanelBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    caption: str | None = None
    narration: str | None = None
    dialogue: list[EditLineBody] | None = None
    imagePrompt: str | None = None

    @field_validator("caption", "narration", "dialogue", "imagePrompt", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null (leave the field out to keep it)")
        return value

    @field_validator("caption", "narration", "imagePrompt")
    @classmethod
    def _clean(cls, value: str) -> str:
        return _clean_text(value)


def parse_edit_panel(payload: Any) -> PanelEdit:
    """Validates the shape of a panel edit; ``services.editing.check_edit`` checks it
    against the comic (its speakers, the plan limits).

    Raises:
        ValidationFailed: with one entry per bad field.
    """
    body = _model(payload, EditPanelBody)
    if not body.model_fields_set:
        raise ValidationFailed(
            [
                {
                    "field": "body",
                    "reason": "must change at least one of caption, narration, dialogue, "
                    "imagePrompt",
                }
            ]
        )
    dialogue = None
    if body.dialogue is not None:
        dialogue = tuple(
            DialogueLine(speaker=line.speaker, text=line.text, side=line.side)
            for line in body.dialogue
        )
    return PanelEdit(
        caption=body.caption,
        narration=body.narration,
        dialogue=dialogue,
        image_prompt=body.imagePrompt,
    )


class TranslateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    language: str


def parse_translate(payload: Any, settings: Settings) -> str:
    """The language to translate into, one the deployment supports.

    Raises:
        ValidationFailed: naming ``language``.
    """
    language = _model(payload, TranslateBody).language.strip().lower()
    if language not in settings.languages:
        raise ValidationFailed(
            [{"field": "language", "reason": f"must be one of {', '.join(settings.languages)}"}]
        )
    return language


_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "a boolean",
    "dict_type": "an object",
    "list_type": "a list",
    "model_type": "an object",
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
