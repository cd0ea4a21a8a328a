"""Parsers and single-value checks for the settings table.

A parser takes the variable's name (for the error) and its raw, non-empty text; a check
takes the name and the parsed value. Both raise ConfigurationError naming the variable.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from urllib.parse import urlsplit

from panelflow.domain import voices as voice_catalogue
from panelflow.domain.errors import ConfigurationError

# A Cloud Text-to-Speech voice name starts with its language code, e.g. en-US-Neural2-F.
VOICE_NAME_PATTERN = re.compile(r"[a-z]{2,3}-[A-Z]{2}-\S+")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_HOST_PORT = re.compile(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([A-Za-z0-9.-]+):(\d{1,5})")


def text(variable: str, raw: str) -> str:
    return raw


def integer(variable: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(
            f"{variable} must be an integer, not {raw!r}", field=variable
        ) from None


def whole_seconds(variable: str, raw: str) -> float:
    """Seconds written as an integer, kept as a float like every other duration."""
    return float(integer(variable, raw))


def number(variable: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{variable} must be a number, not {raw!r}", field=variable
        ) from None
    if not math.isfinite(value):
        raise ConfigurationError(f"{variable} must be a finite number, not {raw!r}", field=variable)
    return value


def boolean(variable: str, raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{variable} must be true or false, not {raw!r}", field=variable)


def origins(variable: str, raw: str) -> tuple[str, ...]:
    """Comma-separated browser origins such as https://app.example.com, lower-cased."""
    found = []
    for origin in (item.strip() for item in raw.split(",")):
        if not origin:
            continue
        parts = urlsplit(origin)
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            parts = parts._replace(scheme="")
        extra = parts.path or parts.query or parts.fragment or parts.username
        if parts.scheme not in ("http", "https") or not parts.hostname or extra:
            raise ConfigurationError(
                f"{variable} must list origins such as https://app.example.com or "
                f"http://127.0.0.1:8080 (scheme, host, optional port; no path), not {origin!r}",
                field=variable,
            )
        found.append(origin.lower())
    return tuple(found)


def voices(variable: str, raw: str) -> dict[str, str]:
    """A JSON object: character name -> Cloud Text-to-Speech voice ("" is the narrator)."""
    example = '{"Mira": "en-US-Neural2-F"}'
    try:
        given = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"{variable} must be a JSON object such as {example}: "
            f"{error.msg} at character {error.pos}",
            field=variable,
        ) from None
    if not isinstance(given, dict):
        raise ConfigurationError(
            f"{variable} must be a JSON object such as {example}", field=variable
        )
    for name, voice in given.items():
        if not isinstance(voice, str) or not VOICE_NAME_PATTERN.fullmatch(voice):
            raise ConfigurationError(
                f"{variable}: the voice for {name!r} must be a Cloud Text-to-Speech voice name "
                f"that starts with its language code, such as en-US-Neural2-F, not {voice!r}",
                field=variable,
            )
        if not voice_catalogue.tier_of(voice):
            raise ConfigurationError(
                f"{variable}: {voice!r} (for {name!r}) names no Cloud Text-to-Speech voice "
                f"family; known families: {', '.join(sorted(voice_catalogue.FAMILIES))}",
                field=variable,
            )
    return {str(name): voice for name, voice in given.items()}


def existing_file(variable: str, path: str) -> None:
    if not os.path.isfile(path):
        raise ConfigurationError(f"{variable} names no file: {path!r}", field=variable)


def host_port(variable: str, value: str) -> tuple[str, int]:
    """Splits host:port ([v6]:port for IPv6); the check of PANELFLOW_TTS_ENDPOINT."""
    match = _HOST_PORT.fullmatch(value)
    if not match:
        raise ConfigurationError(
            f"{variable} must be host:port (IPv6 as [::1]:port), not {value!r}", field=variable
        )
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise ConfigurationError(f"{variable} has an invalid port: {value!r}", field=variable)
    return host, port


def http_url(variable: str, url: str) -> None:
    """An http(s) URL with a host and a valid port (where plain http may go is a cross rule)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{variable} must be an http(s) URL such as https://host[:port], not {url!r}",
            field=variable,
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigurationError(
            f"{variable} has an invalid port: {url!r}", field=variable
        ) from None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
