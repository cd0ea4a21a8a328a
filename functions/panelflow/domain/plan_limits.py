"""Length and item limits of a story plan: what one job may cost, whatever the story says.

The same numbers go into the planner's response schema (so the model aims for them) and into
``clamp``, which every plan passes through before it is saved (so a model that ignores the
schema, or the offline planner, cannot exceed them). Spoken text is capped per panel in UTF-8
bytes, the unit Text-to-Speech bills and limits by (characters are billed; bytes bound both).

Text is never cut mid-sentence where a sentence fits: captions, narration and dialogue keep
whole sentences (``whole_sentences``). Narration is capped high enough that a story of the
longest accepted length (5,000 characters) is narrated whole across the default six panels;
what bounds the cost is the story's own length, since panels only retell it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from panelflow.domain.models import Character, DialogueLine, PanelPlan, StoryPlan

TITLE_CHARS = 80
MAX_CHARACTERS = 8
NAME_CHARS = 40
CHARACTER_DESCRIPTION_CHARS = 300
SCENE_CHARS = 400
IMAGE_PROMPT_CHARS = 600
CAPTION_CHARS = 400
NARRATION_CHARS = 1_600
DIALOGUE_LINES = 6
DIALOGUE_LINE_CHARS = 400
# Narration and dialogue of one panel, in UTF-8 bytes: about 100 s of speech in English, and
# the most one Text-to-Speech request takes.
SPOKEN_BYTES_PER_PANEL = 5_000
ELLIPSIS = "\u2026"


def shorten(text: str, limit: int) -> str:
    """``text`` with whitespace folded, cut at a word boundary to at most ``limit`` chars."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Scripts without spaces (Japanese) have no word boundary to find: cut hard.
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:—\u2013-") + ELLIPSIS


# A sentence ends after . ! ? … (and closing quotes), or after CJK full stops.
_SENTENCE_END_RE = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*\s+|[\u3002\uff01\uff1f]+[\u300d\u300f]*\s*"
)


def sentences(text: str) -> list[str]:
    """``text`` (whitespace folded) as its sentences, each with its end punctuation."""
    text = " ".join(text.split())
    pieces, start = [], 0
    for match in _SENTENCE_END_RE.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    if text[start:].strip():
        pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def whole_sentences(text: str, limit: int, *, unit: str = "chars") -> str:
    """The longest run of whole sentences from the start of ``text`` within ``limit``
    characters (or UTF-8 bytes with ``unit="bytes"``). A first sentence longer than the limit
    on its own is cut at a word with an ellipsis: the only cut inside a sentence."""

    def size(value: str) -> int:
        return len(value.encode("utf-8")) if unit == "bytes" else len(value)

    text = " ".join(text.split())
    if size(text) <= limit:
        return text
    kept = ""
    for sentence in sentences(text):
        candidate = f"{kept} {sentence}".strip() if kept and not _joins(kept) else kept + sentence
        if size(candidate) > limit:
            break
        kept = candidate
    if kept:
        return kept
    return _fit_bytes(text, limit) if unit == "bytes" else shorten(text, limit)


def _joins(text: str) -> bool:
    """True when the next sentence follows without a space (after a CJK full stop)."""
    return text[-1:] in "\u3002\uff01\uff1f\u300d\u300f"


def _fit_bytes(text: str, budget: int) -> str:
    """The longest word-boundary cut of ``text`` within ``budget`` UTF-8 bytes ("" if none)."""
    if len(text.encode("utf-8")) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(shorten(text, middle).encode("utf-8")) <= budget:
            low = middle
        else:
            high = middle - 1
    return shorten(text, low) if low >= 2 else ""


def clamp_panel(panel: PanelPlan, *, spoken_bytes: int = SPOKEN_BYTES_PER_PANEL) -> PanelPlan:
    """The panel within every limit; narration first, then dialogue lines in order, share the
    spoken-bytes budget, and lines that no longer fit are dropped."""
    narration = whole_sentences(
        whole_sentences(panel.narration, NARRATION_CHARS), spoken_bytes, unit="bytes"
    )
    caption = whole_sentences(panel.caption, CAPTION_CHARS)
    left = spoken_bytes - len(narration.encode("utf-8"))
    if not narration:
        # Speech falls back to the caption when a panel has no narration.
        left -= len(caption.encode("utf-8"))
    dialogue: list[DialogueLine] = []
    for line in panel.dialogue[:DIALOGUE_LINES]:
        text = whole_sentences(
            whole_sentences(line.text, DIALOGUE_LINE_CHARS), max(0, left), unit="bytes"
        )
        if not text:
            break
        left -= len(text.encode("utf-8"))
        speaker = shorten(line.speaker, NAME_CHARS)
        dialogue.append(DialogueLine(speaker=speaker, text=text, side=line.side))
    return replace(
        panel,
        scene=shorten(panel.scene, SCENE_CHARS),
        caption=caption,
        narration=narration,
        dialogue=tuple(dialogue),
        characters=tuple(shorten(name, NAME_CHARS) for name in panel.characters[:MAX_CHARACTERS]),
        image_prompt=shorten(panel.image_prompt, IMAGE_PROMPT_CHARS),
    )


def clamp(plan: StoryPlan, *, spoken_bytes: int = SPOKEN_BYTES_PER_PANEL) -> StoryPlan:
    """The plan within every limit (see the module docstring); a plan inside them is unchanged."""
    characters = tuple(
        Character(
            name=shorten(character.name, NAME_CHARS),
            description=shorten(character.description, CHARACTER_DESCRIPTION_CHARS),
            voice=character.voice,
            reference_path=character.reference_path,
        )
        for character in plan.characters[:MAX_CHARACTERS]
    )
    return StoryPlan(
        title=shorten(plan.title, TITLE_CHARS),
        characters=characters,
        panels=tuple(clamp_panel(panel, spoken_bytes=spoken_bytes) for panel in plan.panels),
    )


def spoken_bytes(panel: PanelPlan) -> int:
    """UTF-8 bytes Text-to-Speech will be sent for the panel (narration or caption, dialogue)."""
    lead = panel.narration or panel.caption
    return len(lead.encode("utf-8")) + sum(len(x.text.encode("utf-8")) for x in panel.dialogue)
