"""Text from a model or a user, made safe to print on a terminal.

A comic's title, a panel's caption or a provider's error message is written by a model
from the user's story; printed raw, an escape sequence in it could move the cursor, rewrite
earlier lines, set the window title or hide text. Everything the CLI prints that did not
come from the CLI itself goes through :func:`printable` (plain text) or :func:`json_line`.
"""

from __future__ import annotations

import json
import re
from typing import Any

# ESC sequences (CSI ... final byte, OSC/DCS/APC/PM/SOS ... terminator, two-byte escapes).
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
)
# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the
# Unicode controls that reorder or hide text (bidi overrides and isolates, zero widths).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object, *, one_line: bool = False) -> str:
    """``text`` without escape sequences or control characters; ``one_line`` also turns
    line breaks and tabs into spaces (titles in a listing)."""
    cleaned = _CONTROL.sub("", _ESCAPE.sub("", str(text)))
    if one_line:
        cleaned = " ".join(cleaned.split())
    return cleaned


def json_line(value: Any, **options: Any) -> str:
    """``json.dumps`` whose output holds no raw control character: JSON escapes C0 itself,
    and C1 and the invisible Unicode controls are written as ``\\uXXXX`` here."""
    text = json.dumps(value, **options)
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
