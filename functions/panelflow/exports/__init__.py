"""Exports of a finished comic: pages in a layout, written as PDF, CBZ or MP4.

The writers take a :class:`Comic` whose panel images are already lettered
(``panelflow.lettering``) and return the file's bytes; they touch no store. The export
service (``panelflow.services.exports``) reads the job, letters its panels, calls a writer
and stores the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

FORMATS = ("pdf", "cbz", "mp4")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "cbz": "application/vnd.comicbook+zip",
    "mp4": "video/mp4",
}

# Reports how far a writer got, 0..1.
Progress = Callable[[float], None]


def no_progress(_: float) -> None:
    """A progress callback that reports nowhere."""


@dataclass(frozen=True)
class ComicPanel:
    """One panel as an export shows it."""

    index: int
    # The panel's image with its caption and speech bubbles burned in.
    image: Image.Image
    # The panel's words in reading order (caption, narration, each dialogue line): the PDF's
    # real, extractable text.
    text: tuple[str, ...]
    audio: bytes | None = None
    audio_duration_ms: int | None = None


@dataclass(frozen=True)
class Comic:
    title: str
    language: str
    panels: tuple[ComicPanel, ...]
