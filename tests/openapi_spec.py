"""docs/openapi.yaml as test helpers: which route a path is, and whether an answer fits it."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

SPEC_PATH = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


@functools.cache
def spec() -> dict[str, Any]:
    return dict(yaml.safe_load(SPEC_PATH.read_text()))


def operations() -> list[tuple[str, str]]:
    """(path template, METHOD) of every operation in the spec."""
    return [
        (path, method.upper())
        for path, item in spec()["paths"].items()
        for method in item
        if method in METHODS
    ]


@functools.cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    compiled = []
    for template in spec()["paths"]:
        pattern = re.escape(template)
        pattern = pattern.replace(r"\{jobId\}", "[A-Za-z0-9_-]{1,64}")
        pattern = pattern.replace(r"\{index\}", "[0-9]{1,3}")
        compiled.append((re.compile(f"^{pattern}$"), template))
    return compiled


def route_of(path: str) -> str | None:
    """The spec's template for a concrete path, or None when the spec has no such route."""
    for pattern, template in _patterns():
        if pattern.match(path.rstrip("/") or "/"):
            return template
    return None


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_spec(template: str, method: str, status: int) -> dict[str, Any] | None:
    """The spec's response object for an operation and status, or None when undocumented."""
    operation = spec()["paths"][template].get(method.lower())
    if operation is None:
        return None
    response = operation["responses"].get(str(status))
    return _resolve(response) if response is not None else None


@functools.cache
def validator(pointer: str) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator for ``#/components/schemas/<name>``-style pointers."""
    return Draft202012Validator({"$ref": pointer, "components": spec()["components"]})


def body_errors(template: str, method: str, status: int, body: Any) -> list[str]:
    """Why ``body`` does not fit the documented response (empty when it does)."""
    response = response_spec(template, method, status)
    if response is None:
        return [f"{method} {template} does not document {status}"]
    schema = response["content"]["application/json"]["schema"]
    return [error.message for error in validator(schema["$ref"]).iter_errors(body)]


def error_shape_errors(body: Any) -> list[str]:
    """Why ``body`` is not ``{"error": {"code", "message", ...}}`` (empty when it is)."""
    return [e.message for e in validator("#/components/schemas/Error").iter_errors(body)]
