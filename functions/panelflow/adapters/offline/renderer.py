"""Draws comic panels and character sheets with Pillow alone: no model, network or font file.

Panels carry no text: lettering is a layer that clients draw over the image and exports burn
in (``panelflow.lettering``), as with the image models. The drawing itself lives in
``panelflow.adapters.offline.render``: styles, scenery and places, figures and treatments.
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
        """Returns a reference sheet: the figure large and swatches of its colours."""
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
        # Swatches only: a name or description drawn here would be text in an image, which
        # image models copy badly; the sheet's text lives in the character bible.
        left = int(width * 0.55)
        top = int(height * 0.3)
        swatch = int(44 * unit)
        for number, colour in enumerate((look.hair, look.skin, look.outfit)):
            x = left + number * (swatch + int(40 * unit))
            draw.rectangle(
                [x, top, x + swatch, top + swatch],
                fill=toned(colour, spec.name),
                outline=spec.outline,
                width=2,
            )
        draw_border(draw, width, height, spec)
        return _png(image)

    def panel(self, request: PanelRequest) -> RenderedImage:
        """Returns the panel: background, figures (speakers on their sides) and border; no
        text, which is lettered over the image (see the module docstring)."""
        panel = request.panel
        spec = STYLE_SPECS.get(request.style, STYLE_SPECS[DEFAULT_STYLE])
        width, height = self.width, self.height
        scene_height = height
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
        draw_figures(draw, figures, spec, width, scene_height)
        draw_border(draw, width, height, spec)
        return _png(image)


def _png(image: Image.Image) -> RenderedImage:
    buffer = io.BytesIO()
    # compress_level 6 and no metadata: the same drawing gives the same bytes, at a fair speed.
    image.save(buffer, format="PNG", compress_level=6)
    return RenderedImage(
        data=buffer.getvalue(), width=image.width, height=image.height, content_type="image/png"
    )
