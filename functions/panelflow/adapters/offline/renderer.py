"""Draws comic panels and character sheets with Pillow alone: no model, network or font file.

The drawing itself lives in ``panelflow.adapters.offline.render``: styles, scenery and
places, figures, lettering and the style treatments.
"""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw

from panelflow.adapters.offline.render.figures import (
    draw_figure,
    draw_figures,
    figures_in_panel,
    look_of,
)
from panelflow.adapters.offline.render.lettering import (
    draw_bubbles,
    draw_caption,
    fit_lines,
    font_of_size,
)
from panelflow.adapters.offline.render.places import paint_background
from panelflow.adapters.offline.render.scenery import read_scene
from panelflow.adapters.offline.render.styles import DEFAULT_STYLE, STYLE_SPECS, draw_border, toned
from panelflow.adapters.offline.render.treatments import treat
from panelflow.domain.models import Character, PanelRequest, RenderedImage


class PillowImageGenerator:
    """Draws panels and character sheets from shapes, deterministically and offline.

    The background comes from keywords in the scene text (a hash picks one when none
    match); figures take their colours from the character description, so the same
    character looks the same in every panel; ``references`` and ``previous`` are not
    needed for that and are ignored.
    """

    def __init__(self, width: int = 768, height: int = 512) -> None:
        self.width = width
        self.height = height

    def character_sheet(self, character: Character, *, style: str) -> RenderedImage:
        """Returns a reference sheet: the figure large, the name, the description, swatches."""
        spec = STYLE_SPECS.get(style, STYLE_SPECS[DEFAULT_STYLE])
        width, height = self.width, self.height
        unit = height / 512
        image = Image.new("RGB", (width, height), spec.paper)
        draw = ImageDraw.Draw(image)
        # A floor line so the figure stands on something.
        floor = int(height * 0.9)
        draw.line([(0, floor), (width, floor)], fill=toned(spec.outline, spec.name), width=2)
        look = look_of(character)
        draw_figure(
            draw,
            look,
            spec,
            x=int(width * 0.26),
            ground=floor,
            size=int(height * 0.8),
            facing=1,
            speaking=False,
        )
        left = int(width * 0.5)
        text_width = width - left - int(24 * unit)
        name_font = font_of_size(int(40 * unit))
        body_font = font_of_size(int(18 * unit))
        top = int(40 * unit)
        name = fit_lines(character.name or "Unnamed", name_font, text_width, 1)
        draw.text((left, top), name[0], font=name_font, fill=spec.text)
        top += int(56 * unit)
        description = character.description or "No description."
        lines = fit_lines(description, body_font, text_width, 6)
        line_height = int(24 * unit)
        for line in lines:
            draw.text((left, top), line, font=body_font, fill=spec.text)
            top += line_height
        if character.voice:
            top += int(8 * unit)
            draw.text((left, top), f"voice: {character.voice}", font=body_font, fill=spec.text)
            top += line_height
        top += int(16 * unit)
        swatch = int(44 * unit)
        for number, (label, colour) in enumerate(
            (("hair", look.hair), ("skin", look.skin), ("outfit", look.outfit))
        ):
            x = left + number * (swatch + int(40 * unit))
            draw.rectangle(
                [x, top, x + swatch, top + swatch],
                fill=toned(colour, spec.name),
                outline=spec.outline,
                width=2,
            )
            draw.text(
                (x, top + swatch + 4), label, font=font_of_size(int(14 * unit)), fill=spec.text
            )
        draw_border(draw, width, height, spec)
        return _png(image)

    def panel(self, request: PanelRequest) -> RenderedImage:
        """Returns the panel: background, figures, speech bubbles, caption strip and border."""
        panel = request.panel
        spec = STYLE_SPECS.get(request.style, STYLE_SPECS[DEFAULT_STYLE])
        width, height = self.width, self.height
        caption_height = int(height * 0.16) if panel.caption.strip() else 0
        scene_height = height - caption_height
        text = " ".join((panel.scene, panel.caption)).lower()
        seed = int.from_bytes(hashlib.sha256(f"{spec.name}\n{text}".encode()).digest()[:8], "big")
        rng = random.Random(seed)
        scene = read_scene(text, seed)
        background = paint_background(width, scene_height, scene, rng)
        background = treat(background, spec.name, scene, rng)
        image = Image.new("RGB", (width, height), spec.caption_fill)
        image.paste(background, (0, 0))
        draw = ImageDraw.Draw(image)
        figures = figures_in_panel(panel, request.characters)
        heads = draw_figures(draw, figures, spec, width, scene_height)
        draw_bubbles(draw, panel.dialogue, heads, spec, width, scene_height)
        if caption_height:
            draw_caption(draw, panel.caption, spec, width, height, caption_height)
        draw_border(draw, width, height, spec)
        return _png(image)


def _png(image: Image.Image) -> RenderedImage:
    buffer = io.BytesIO()
    # compress_level 6 and no metadata: the same drawing gives the same bytes, at a fair speed.
    image.save(buffer, format="PNG", compress_level=6)
    return RenderedImage(
        data=buffer.getvalue(), width=image.width, height=image.height, content_type="image/png"
    )
