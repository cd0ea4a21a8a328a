"""Lettering burned into panel images, for exports: captions, narration and speech bubbles.

Panel images are drawn without text; clients letter them live from the panel's text (HTML or
SVG over the image), and exports burn the same lettering in with ``letter_panel``::

    from panelflow.lettering import PanelText, letter_panel
    lettered = letter_panel(image, PanelText(caption, narration, dialogue), language="ja")

Every character is drawn with a font that has it (``fonts``), lines break by script
(``text``) and nothing is cut: text that does not fit over the image at the smallest size
continues in a strip added below it, so the returned image may be taller than the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from panelflow.domain.models import DialogueLine
from panelflow.lettering.fonts import FontChain, chain_for
from panelflow.lettering.panel import blocks_of, draw_placed, lay_out, strip_image

__all__ = ["FontChain", "PanelText", "chain_for", "letter_panel", "lettered_runs"]


@dataclass(frozen=True)
class PanelText:
    """What a panel says: its caption, its narration and its dialogue lines."""

    caption: str = ""
    narration: str = ""
    dialogue: Sequence[DialogueLine] = field(default_factory=tuple)


def letter_panel(image: Image.Image, panel: PanelText, *, language: str) -> Image.Image:
    """A new image: ``image`` with the panel's caption, narration and speech bubbles burned in.

    Args:
        image: the panel as drawn, without lettering (not changed).
        panel: the text to letter.
        language: the job's language tag (``en``, ``ja``, ``ar``...): picks the fonts, the
            direction of text and the CJK glyph forms.

    Returns:
        An RGB image as wide as ``image``; taller when text continues below it.
    """
    base = image.convert("RGB")
    width, height = base.size
    chain = chain_for(language)
    blocks = blocks_of(panel.caption, panel.narration, panel.dialogue)
    placed, overflow, size = lay_out(blocks, width, height, chain, language)
    draw = ImageDraw.Draw(base)
    unit = min(width / 768, height / 512)
    for item in placed:
        draw_placed(draw, item, width, height, unit)
    if not overflow:
        return base
    strip = strip_image(overflow, width, size, chain, language)
    tall = Image.new("RGB", (width, height + strip.height), (255, 255, 255))
    tall.paste(base, (0, 0))
    tall.paste(strip, (0, height))
    return tall


def lettered_runs(panel: PanelText, *, language: str) -> list[tuple[str, str]]:
    """(font name, text) for every run the panel's text is drawn in: what tests check."""
    chain = chain_for(language)
    texts = [panel.caption, panel.narration]
    for line in panel.dialogue:
        texts += [line.speaker, line.text]
    return [(run.face.name, run.text) for text in texts for run in chain.runs(text)]
