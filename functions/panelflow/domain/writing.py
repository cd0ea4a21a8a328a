"""Which writing system a character belongs to, its direction, and how lines of it may break.

Plain rules with no dependencies: the planner (sides in right-to-left languages) and the
lettering (fonts, direction, line breaks) both use them.
"""

from __future__ import annotations

import functools
import unicodedata

# (first, last, script) for the scripts Panelflow letters with a font of their own.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0590, 0x05FF, "hebrew"),
    (0xFB1D, 0xFB4F, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x08A0, 0x08FF, "arabic"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0xA8E0, 0xA8FF, "devanagari"),
    (0x1100, 0x11FF, "cjk"),  # Hangul Jamo
    (0x2E80, 0x2FDF, "cjk"),  # radicals
    (0x3000, 0x303F, "cjk"),  # CJK punctuation: 、。「」『』
    (0x3040, 0x30FF, "cjk"),  # Hiragana, Katakana
    (0x3100, 0x31FF, "cjk"),
    (0x3200, 0x33FF, "cjk"),
    (0x3400, 0x4DBF, "cjk"),
    (0x4E00, 0x9FFF, "cjk"),
    (0xAC00, 0xD7AF, "cjk"),  # Hangul syllables
    (0xF900, 0xFAFF, "cjk"),
    (0xFF00, 0xFFEF, "cjk"),  # full- and half-width forms
    (0x20000, 0x2FA1F, "cjk"),
)
RTL_SCRIPTS = frozenset({"arabic", "hebrew"})
RTL_LANGUAGES = frozenset({"ar", "he", "iw", "fa", "ur", "yi"})
# Kinsoku: characters that may not start a line, and ones that may not end it.
# (Full-width punctuation is meant here, hence the noqa.)
NO_LINE_START = frozenset(
    "、。，．・：；？！ー）」』】〕〉》｝〙〗〟’”…‥"  # noqa: RUF001
    "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ,.!?:;)]}"
)
NO_LINE_END = frozenset("（「『【〔〈《｛〘〖〝‘“([{")  # noqa: RUF001


@functools.lru_cache(maxsize=65536)
def script_of(char: str) -> str:
    """``latin`` (also Greek, Cyrillic and anything not listed), ``cjk``, ``arabic``,
    ``hebrew``, ``devanagari``; ``common`` for spaces, digits and punctuation."""
    code = ord(char)
    for first, last, script in _RANGES:
        if first <= code <= last:
            return script
    category = unicodedata.category(char)
    if category[0] in "LM":
        return "latin"
    return "common"


def base_language(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


def is_rtl_language(language: str) -> bool:
    return base_language(language) in RTL_LANGUAGES


def paragraph_is_rtl(text: str, language: str) -> bool:
    """The direction of a paragraph: its first strong character's, else the language's."""
    for char in text:
        script = script_of(char)
        if script == "common":
            continue
        return script in RTL_SCRIPTS
    return is_rtl_language(language)


def breaks_anywhere(char: str) -> bool:
    """True for characters written without spaces (CJK), where a line may break between any two."""
    return script_of(char) == "cjk" and char not in NO_LINE_START


def tokens(text: str) -> list[str]:
    """The text as unbreakable pieces: words with their trailing spaces, single CJK characters
    (with the kinsoku rules applied), so a line only ever breaks between two pieces."""
    pieces: list[str] = []
    current = ""
    for char in text:
        if char.isspace():
            current += char
            pieces.append(current)
            current = ""
            continue
        breaks_here = breaks_anywhere(char) or (
            current and breaks_anywhere(current[-1]) and char not in NO_LINE_START
        )
        if breaks_here and current and current[-1] not in NO_LINE_END:
            pieces.append(current)
            current = ""
        current += char
    if current:
        pieces.append(current)
    # Merge pure whitespace into the previous piece.
    merged: list[str] = []
    for piece in pieces:
        if merged and not piece.strip():
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged
