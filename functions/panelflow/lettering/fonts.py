"""Noto fonts per script, with a fallback chain so that no character is drawn as a box.

Fonts are looked for in ``PANELFLOW_FONT_DIR`` (when set), then in the copies staged into a
function bundle (``panelflow/lettering/fonts/``), then where Debian's ``fonts-noto-core``,
``fonts-noto-cjk`` and ``fonts-dejavu-core`` put them. Which font draws a character is
decided from the font's own character map (read with fontTools), never guessed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from PIL import ImageFont, features

from panelflow.domain.writing import base_language, script_of
from panelflow.lettering import font_files

FONT_DIR_ENV = "PANELFLOW_FONT_DIR"
BUNDLED_DIR = Path(__file__).resolve().parent / "fonts"
SYSTEM_DIRS = tuple(Path(folder) for folder in font_files.SYSTEM_DIRS)
CJK_FILE = font_files.CJK_FILE
SCRIPT_FILES = font_files.SCRIPT_FILES
FALLBACK_FILES = font_files.FALLBACK_FILES
FONT_FILES = font_files.FONT_FILES
# Face index inside NotoSansCJK-Regular.ttc: the same characters look as each language
# expects (Japanese, Korean, Simplified, Traditional, Hong Kong).
CJK_INDEX = {
    "ja": 0,
    "ko": 1,
    "zh": 2,
    "zh-cn": 2,
    "zh-hans": 2,
    "zh-tw": 3,
    "zh-hant": 3,
    "zh-hk": 4,
}


# eq=False: faces and chains compare and hash by identity (chain_for caches them), which
# keeps the per-character lookups cheap.
@dataclass(frozen=True, eq=False)
class Face:
    """One font: a file and, for a collection (.ttc), which face in it."""

    path: Path
    index: int = 0

    @property
    def name(self) -> str:
        return f"{self.path.name}#{self.index}" if self.path.suffix == ".ttc" else self.path.name

    @functools.cached_property
    def codepoints(self) -> frozenset[int]:
        return _cmap(self.path, self.index)

    def covers(self, char: str) -> bool:
        return ord(char) in self.codepoints

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        return _font(self.path, self.index, size)


def layout_engine() -> ImageFont.Layout:
    """Raqm (HarfBuzz shaping, FriBiDi order) where Pillow has it, else Pillow's basic one."""
    return ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC


@functools.lru_cache(maxsize=64)
def _font(path: Path, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), max(6, size), index=index, layout_engine=layout_engine())


@functools.lru_cache(maxsize=32)
def _cmap(path: Path, index: int) -> frozenset[int]:
    if path.suffix.lower() == ".ttc":
        collection = TTCollection(str(path), lazy=True)
        font = collection.fonts[index]
    else:
        font = TTFont(str(path), lazy=True)
    cmap = font.getBestCmap() or {}
    return frozenset(cmap)


def font_dirs() -> list[Path]:
    configured = os.environ.get(FONT_DIR_ENV, "").strip()
    dirs = [Path(configured)] if configured else []
    return [*dirs, BUNDLED_DIR, *SYSTEM_DIRS]


def find_font_file(name: str) -> Path | None:
    """The first copy of the font file ``name`` in the font folders, or None."""
    for directory in font_dirs():
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _faces(names: Iterable[str], cjk_index: int) -> list[Face]:
    faces = []
    for name in names:
        path = find_font_file(name)
        if path is not None:
            faces.append(Face(path, cjk_index if name == CJK_FILE else 0))
    return faces


@functools.lru_cache(maxsize=16)
def chain_for(language: str) -> FontChain:
    """The fonts to letter ``language`` with: its own script's first, then every other."""
    tag = language.replace("_", "-").lower()
    cjk_index = CJK_INDEX.get(tag, CJK_INDEX.get(base_language(language), 0))
    own = _LANGUAGE_SCRIPT.get(base_language(language), "latin")
    order = [own, "latin", *(script for script in SCRIPT_FILES if script not in (own, "latin"))]
    names = [name for script in order for name in SCRIPT_FILES[script]] + list(FALLBACK_FILES)
    return FontChain(tuple(_faces(dict.fromkeys(names), cjk_index)))


_LANGUAGE_SCRIPT = {
    "ja": "cjk",
    "zh": "cjk",
    "ko": "cjk",
    "ar": "arabic",
    "fa": "arabic",
    "ur": "arabic",
    "he": "hebrew",
    "iw": "hebrew",
    "yi": "hebrew",
    "hi": "devanagari",
    "mr": "devanagari",
    "ne": "devanagari",
}


@dataclass(frozen=True)
class Run:
    """A stretch of text drawn with one face, in logical (reading) order."""

    face: Face
    text: str

    @property
    def rtl(self) -> bool:
        return any(script_of(char) in ("arabic", "hebrew") for char in self.text)


@dataclass(frozen=True, eq=False)
class FontChain:
    """Faces in order of preference; each character goes to the first face that has it."""

    faces: tuple[Face, ...]

    def face_for(self, char: str, preferred: Face | None = None) -> Face | None:
        """The face that draws ``char``: ``preferred`` when it has it (so spaces and
        punctuation stay in the run around them), else the first that has it; None when
        no face has the character."""
        if preferred is not None and preferred.covers(char):
            return preferred
        return _first_face(self, char)

    def runs(self, text: str) -> list[Run]:
        """``text`` split into runs of one face each; a character no face has is left out
        (a box would say nothing either, and the text itself stays in the panel's data)."""
        runs: list[Run] = []
        current: Face | None = None
        buffer = ""
        for char in text:
            own = script_of(char) != "common"
            face = self.face_for(char, None if own else current)
            if face is None:
                continue
            if own and current is not None and face != current and current.covers(char):
                # A letter the current face also has stays in its run only when the script
                # matches: Latin inside an Arabic run switches to the Latin face.
                face = current if _same_script(buffer, char) else face
            if face != current and buffer:
                runs.append(Run(current, buffer))  # type: ignore[arg-type]
                buffer = ""
            current = face
            buffer += char
        if buffer and current is not None:
            runs.append(Run(current, buffer))
        return runs

    def missing(self, text: str) -> set[str]:
        """Characters of ``text`` (other than spaces and controls) that no face has."""
        return {c for c in text if c.isprintable() and not c.isspace() and not self.face_for(c)}


def _same_script(buffer: str, char: str) -> bool:
    script = script_of(char)
    for previous in reversed(buffer):
        previous_script = script_of(previous)
        if previous_script != "common":
            return previous_script == script
    return True


@functools.lru_cache(maxsize=65536)
def _first_face(chain: FontChain, char: str) -> Face | None:
    return next((face for face in chain.faces if face.covers(char)), None)
