"""Length and item limits of a story plan: what one job may cost, whatever the story says.

The same numbers go into the planner's response schema (so the model aims for them) and into
``clamp``, which every plan passes through before it is saved (so a model that ignores the
schema, or the offline planner, cannot exceed them). Spoken text is capped per panel in UTF-8
bytes, the unit Text-to-Speech bills and limits by (characters are billed; bytes bound both).
"""

from __future__ import annotations

from dataclasses import replace

from panelflow.domain.models import Character, DialogueLine, PanelPlan, StoryPlan

TITLE_CHARS = 80
MAX_CHARACTERS = 8
NAME_CHARS = 40
CHARACTER_DESCRIPTION_CHARS = 300
SCENE_CHARS = 400
IMAGE_PROMPT_CHARS = 600
CAPTION_CHARS = 160
NARRATION_CHARS = 400
DIALOGUE_LINES = 4
DIALOGUE_LINE_CHARS = 200
# Narration and dialogue of one panel, in UTF-8 bytes: about 25 s of speech in English.
SPOKEN_BYTES_PER_PANEL = 1_200
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
    narration = _fit_bytes(shorten(panel.narration, NARRATION_CHARS), spoken_bytes)
    left = spoken_bytes - len(narration.encode("utf-8"))
    if not narration:
        # Speech falls back to the caption when a panel has no narration.
        left -= len(shorten(panel.caption, CAPTION_CHARS).encode("utf-8"))
    dialogue: list[DialogueLine] = []
    for line in panel.dialogue[:DIALOGUE_LINES]:
        text = _fit_bytes(shorten(line.text, DIALOGUE_LINE_CHARS), max(0, left))
        if not text:
            break
        left -= len(text.encode("utf-8"))
        dialogue.append(replace(line, speaker=shorten(line.speaker, NAME_CHARS), text=text))
    return replace(
        panel,
        scene=shorten(panel.scene, SCENE_CHARS),
        caption=shorten(panel.caption, CAPTION_CHARS),
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
