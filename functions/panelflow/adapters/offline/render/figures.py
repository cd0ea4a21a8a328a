"""Characters as figures: their look read from the description, and drawn in a panel."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageDraw

from panelflow.adapters.offline.render.scenery import WORD_RE
from panelflow.adapters.offline.render.styles import (
    DEFAULT_STYLE,
    RGB,
    STYLE_SPECS,
    Style,
    mix,
    toned,
)
from panelflow.domain.models import Character, PanelPlan

MAX_FIGURES = 4


# Every colour word a character description may use; the planner's vocabulary is a subset.
COLOURS: dict[str, RGB] = {
    "black": (30, 26, 24),
    "brown": (110, 70, 38),
    "chestnut": (140, 62, 40),
    "auburn": (150, 48, 32),
    "ginger": (212, 104, 38),
    "red": (200, 36, 40),
    "blond": (236, 198, 104),
    "blonde": (236, 198, 104),
    "golden": (222, 170, 50),
    "gold": (222, 170, 50),
    "platinum": (232, 226, 210),
    "silver": (188, 190, 196),
    "grey": (130, 130, 134),
    "gray": (130, 130, 134),
    "white": (244, 244, 240),
    "crimson": (176, 22, 52),
    "maroon": (120, 24, 36),
    "orange": (238, 128, 32),
    "mustard": (212, 168, 36),
    "yellow": (244, 210, 48),
    "beige": (216, 196, 160),
    "olive": (112, 122, 40),
    "green": (46, 148, 72),
    "lime": (140, 200, 60),
    "teal": (0, 126, 128),
    "turquoise": (48, 196, 186),
    "cyan": (40, 190, 220),
    "blue": (40, 92, 200),
    "navy": (26, 36, 96),
    "indigo": (74, 40, 132),
    "violet": (140, 80, 200),
    "purple": (128, 48, 158),
    "plum": (118, 48, 90),
    "magenta": (206, 40, 148),
    "pink": (240, 140, 178),
}
SKIN_TONES: dict[str, RGB] = {
    "fair": (250, 222, 200),
    "pale": (250, 222, 200),
    "light": (236, 198, 166),
    "olive": (204, 160, 112),
    "tan": (190, 138, 96),
    "brown": (142, 88, 56),
    "dark": (96, 60, 40),
    "deep": (96, 60, 40),
}
# Build -> (height factor, shoulder width as a share of height).
BUILDS = {
    "slim": (1.0, 0.25),
    "tall": (1.1, 0.25),
    "small": (0.84, 0.27),
    "stocky": (0.95, 0.33),
    "broad": (1.02, 0.36),
}
HAIR_STYLES = ("short", "long", "curly", "ponytail", "bald")
GARMENTS = (
    "coat|jacket|sweater|dress|tunic|hoodie|cloak|waistcoat|shirt|robe|gown|suit|uniform|"
    "overalls|vest|cardigan|blouse|jumper|skirt|armour|armor|cape|scarf"
)
_OUTFIT_RE = re.compile(
    rf"\b({'|'.join(sorted(COLOURS, key=len, reverse=True))})\s+(?:[a-z]+\s+)?(?:{GARMENTS})\b"
)
LONG_GARMENTS = ("dress", "cloak", "robe", "gown", "coat", "cape")


@dataclass(frozen=True)
class Look:
    """How a character is drawn, read from its description."""

    hair: RGB
    skin: RGB
    outfit: RGB
    trousers: RGB
    build: str
    hair_style: str
    long_garment: bool


def figure_colours(character: Character, style: str) -> dict[str, RGB]:
    """The exact colours a character's figure is filled with in ``style``."""
    name = style if style in STYLE_SPECS else DEFAULT_STYLE
    look = look_of(character)
    return {
        "hair": toned(look.hair, name),
        "skin": toned(look.skin, name),
        "outfit": toned(look.outfit, name),
    }


def look_of(character: Character) -> Look:
    """Reads hair, skin, outfit and build from the description; a hash of the name fills gaps."""
    text = character.description.lower()
    digest = hashlib.sha256(character.name.casefold().encode("utf-8")).digest()
    hair = _colour_before(text, "hair", COLOURS)
    skin = _colour_before(text, "skin", SKIN_TONES)
    outfit_match = _OUTFIT_RE.search(text)
    outfit = COLOURS[outfit_match.group(1)] if outfit_match else None
    if outfit is None:
        # No "<colour> <garment>": the first colour word not describing the hair or the skin.
        rest = re.sub(r"[a-z]+(?:\s+[a-z]+)?\s+(?:hair|skin)\b", " ", text)
        outfit = next((COLOURS[w] for w in WORD_RE.findall(rest) if w in COLOURS), None)
    palette = sorted(COLOURS)
    hair = hair or COLOURS[("black", "brown", "blond", "auburn", "ginger")[digest[0] % 5]]
    skin = skin or list(SKIN_TONES.values())[digest[1] % len(SKIN_TONES)]
    outfit = outfit or COLOURS[palette[digest[2] % len(palette)]]
    build = next((word for word in BUILDS if re.search(rf"\b{word}\b", text)), None)
    build = build or sorted(BUILDS)[digest[3] % len(BUILDS)]
    hair_style = next((word for word in HAIR_STYLES if re.search(rf"\b{word}\b", text)), None)
    hair_style = hair_style or HAIR_STYLES[digest[4] % 4]
    garment = re.search(rf"\b({GARMENTS})\b", text)
    long_garment = bool(garment and garment.group(1) in LONG_GARMENTS)
    trousers = mix(outfit, (30, 30, 40), 0.65)
    return Look(hair, skin, outfit, trousers, build, hair_style, long_garment)


def _colour_before(text: str, noun: str, table: dict[str, RGB]) -> RGB | None:
    """The colour word nearest before ``noun`` ("long auburn hair", "dark brown hair")."""
    for phrase in re.finditer(rf"((?:[a-z]+\s+){{1,3}}){noun}\b", text):
        for word in reversed(phrase.group(1).split()):
            if word in table:
                return table[word]
    # "auburn-haired", "dark-skinned".
    compound = re.search(rf"\b([a-z]+)-{noun}(?:ed|ned)\b", text)
    if compound and compound.group(1) in table:
        return table[compound.group(1)]
    return None


# Where a speaker with a side stands, as a fraction of the width; lettering points bubble
# tails at the same places (panelflow.lettering.panel.SIDE_X).
SIDE_X = {"left": 0.27, "right": 0.73, "center": 0.5}


def figures_in_panel(
    panel: PanelPlan, characters: Sequence[Character]
) -> list[tuple[Character, bool, str]]:
    """The characters to draw (named in the panel or speaking), with whether each speaks
    and the side the plan puts them on ("" when it does not say)."""
    known = {character.name: character for character in characters}
    sides: dict[str, str] = {}
    for line in panel.dialogue:
        sides.setdefault(line.speaker, line.side)
    names = list(dict.fromkeys([*panel.characters, *(s for s in sides if s in known)]))
    cast = [
        (
            known.get(name) or Character(name=name, description=""),
            name in sides,
            sides.get(name, ""),
        )
        for name in names
    ]
    return cast[:MAX_FIGURES]


def _positions(figures: list[tuple[Character, bool, str]], width: int) -> list[int]:
    """x of each figure: a speaker's side decides it; the others take the free places."""
    count = len(figures)
    slots = [int(width * (number + 1) / (count + 1)) for number in range(count)]
    taken: list[int] = []
    positions: list[int | None] = []
    for _, _, side in figures:
        if side in SIDE_X and int(width * SIDE_X[side]) not in taken:
            x = int(width * SIDE_X[side])
            taken.append(x)
            positions.append(x)
        else:
            positions.append(None)
    free = sorted(slots, key=lambda x: -min((abs(x - t) for t in taken), default=width))
    return [x if x is not None else free.pop(0) for x in positions]


def draw_figures(
    draw: ImageDraw.ImageDraw,
    figures: list[tuple[Character, bool, str]],
    spec: Style,
    width: int,
    scene_height: int,
) -> dict[str, tuple[int, int]]:
    """Draws the figures in a row; returns where each head's top is."""
    heads: dict[str, tuple[int, int]] = {}
    count = len(figures)
    if not count:
        return heads
    size = int(scene_height * (0.56 if count <= 2 else 0.5))
    ground = scene_height - int(scene_height * 0.04)
    for (character, speaking, _), x in zip(figures, _positions(figures, width), strict=True):
        facing = 1 if x < width // 2 else -1
        look = look_of(character)
        top = draw_figure(
            draw, look, spec, x=x, ground=ground, size=size, facing=facing, speaking=speaking
        )
        heads[character.name] = (x, top)
    return heads


def _draw_legs(
    draw: ImageDraw.ImageDraw,
    *,
    x: int,
    half: int,
    waist: int,
    ground: int,
    fill: RGB,
    outline: RGB,
    line: int,
) -> None:
    """Two trouser legs from the waist to the ground, each with a shoe."""
    leg = max(4, half // 2)
    for side in (-1, 1):
        lx = x + side * (half // 2)
        draw.rectangle(
            [lx - leg // 2, waist - 4, lx + leg // 2, ground],
            fill=fill,
            outline=outline,
            width=line,
        )
        draw.ellipse(
            [lx - leg // 2 - 3 + side * 3, ground - 8, lx + leg // 2 + 3 + side * 6, ground + 3],
            fill=outline,
        )


def draw_figure(
    draw: ImageDraw.ImageDraw,
    look: Look,
    spec: Style,
    *,
    x: int,
    ground: int,
    size: int,
    facing: int,
    speaking: bool,
) -> int:
    """Draws one standing figure with its feet at (x, ground); returns the top of its head."""
    scale, breadth = BUILDS.get(look.build, BUILDS["slim"])
    height = int(size * scale)
    style = spec.name
    outline = toned(spec.outline, style)
    line = max(1, round(spec.line * size / 280))
    skin, hair = toned(look.skin, style), toned(look.hair, style)
    outfit, trousers = toned(look.outfit, style), toned(look.trousers, style)
    top = ground - height
    radius = int(height * 0.105)
    head_y = top + radius
    shoulders = top + radius * 2 + int(height * 0.02)
    waist = top + int(height * 0.58)
    half = int(height * breadth / 2)
    # Legs first, so the coat hangs over them.
    _draw_legs(
        draw,
        x=x,
        half=half,
        waist=waist,
        ground=ground,
        fill=trousers,
        outline=outline,
        line=line,
    )
    if look.hair_style == "long":
        # Behind the shoulders: the coat, drawn next, hides the ends.
        draw.rounded_rectangle(
            [x - radius - 6, head_y - radius, x + radius + 6, shoulders + int(radius * 1.4)],
            radius // 2,
            fill=hair,
            outline=outline,
            width=line,
        )
    hem = waist + int(height * 0.22) if look.long_garment else waist + int(height * 0.04)
    draw.polygon(
        [(x - half, shoulders), (x + half, shoulders), (x + half + 6, hem), (x - half - 6, hem)],
        fill=outfit,
        outline=outline,
        width=line,
    )
    arm = max(4, int(half * 0.42))
    # Sleeves a shade darker than the body, so the arms read as arms.
    sleeve = toned(mix(look.outfit, (0, 0, 0), 0.18), style)
    for side in (-1, 1):
        ax = x + side * (half + arm // 2 - 2)
        draw.rounded_rectangle(
            [ax - arm // 2, shoulders + 2, ax + arm // 2, waist + int(height * 0.06)],
            arm // 2,
            fill=sleeve,
            outline=outline,
            width=line,
        )
        hy = waist + int(height * 0.06)
        draw.ellipse(
            [ax - arm // 2 - 1, hy - arm // 2, ax + arm // 2 + 1, hy + arm // 2 + 2],
            fill=skin,
            outline=outline,
            width=line,
        )
    neck = max(3, radius // 3)
    draw.rectangle([x - neck, head_y + radius - 4, x + neck, shoulders + 2], fill=skin)
    # Hair behind the head (long hair, ponytail), then the head, then the hair on top.
    if look.hair_style == "ponytail":
        px = x - facing * (radius + 6)
        draw.ellipse(
            [px - radius // 2, head_y - radius // 3, px + radius // 2, head_y + radius * 1.3],
            fill=hair,
            outline=outline,
            width=line,
        )
    draw.ellipse(
        [x - radius, head_y - radius, x + radius, head_y + radius],
        fill=skin,
        outline=outline,
        width=line,
    )
    if look.hair_style == "curly":
        for step in range(7):
            angle = math.pi + step * math.pi / 6
            cx = x + math.cos(angle) * radius * 0.95
            cy = head_y + math.sin(angle) * radius * 0.95
            r = radius * 0.42
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=hair)
    elif look.hair_style != "bald":
        draw.chord(
            [x - radius - 2, head_y - radius - 3, x + radius + 2, head_y + radius * 0.9],
            180,
            360,
            fill=hair,
            outline=outline,
            width=line,
        )
    eye_y = head_y + radius // 6
    for side in (-1, 1):
        ex = x + facing * radius // 4 + side * radius // 3
        draw.ellipse([ex - 3, eye_y - 3, ex + 3, eye_y + 3], fill=toned((20, 20, 20), style))
    mx = x + facing * radius // 4
    mouth_y = head_y + radius // 2
    if speaking:
        draw.ellipse(
            [mx - 5, mouth_y - 3, mx + 5, mouth_y + 5],
            fill=toned((90, 30, 30), style),
        )
    else:
        draw.arc(
            [mx - 7, mouth_y - 6, mx + 7, mouth_y + 3],
            20,
            160,
            fill=toned((60, 30, 30), style),
            width=2,
        )
    return top
