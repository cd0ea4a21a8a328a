"""Draws comic panels and character sheets with Pillow alone: no model, network or font file."""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from panelflow.domain.models import Character, DialogueLine, PanelPlan, RenderedImage

RGB = tuple[int, int, int]

STYLES = ("storybook", "manga", "noir", "watercolor", "pop-art")
DEFAULT_STYLE = "storybook"
MAX_FIGURES = 4
MAX_BUBBLES = 3


def _keys(text: str) -> tuple[str, ...]:
    return tuple(text.split())


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

_SCENE_WORDS: dict[str, tuple[str, ...]] = {
    "lighthouse": _keys("lighthouse beacon"),
    "indoor": _keys(
        "room kitchen inside indoors bedroom office library hall classroom school house"
        " cabin shop cafe attic"
    ),
    "sea": _keys(
        "sea ocean beach bay harbour harbor shore wave ship boat island lake river sail port coast"
    ),
    "forest": _keys("forest wood woods tree trees jungle grove pine"),
    "city": _keys("city street town village building rooftop alley market road station square"),
    "castle": _keys("castle palace kingdom fortress"),
    "mountain": _keys("mountain hill hills cliff peak valley cave"),
    "desert": _keys("desert sand dune dunes cactus oasis"),
    "space": _keys("space planet rocket galaxy orbit spaceship asteroid"),
    "field": _keys("field meadow garden park farm flower flowers grass"),
}
_FALLBACK_PLACES = ("field", "city", "forest", "sea", "mountain")
_NIGHT = ("night", "midnight", "moon", "moonlight", "dark", "stars", "starry")
_DUSK = ("dusk", "sunset", "evening", "dawn", "sunrise", "twilight")
_STORM = ("storm", "thunder", "lightning", "gale", "tempest")
_RAIN = ("rain", "raining", "drizzle", "downpour", "wet")
_SNOW = ("snow", "snowing", "snowy", "frost", "blizzard", "snowflake")
_FOG = ("fog", "mist", "misty", "haze")
_ACTION = _keys(
    "run ran chase fast rush jump jumped fight crash fell fall flee fled hurry race raced"
    " burst leap leapt dash"
)

_WORD_RE = re.compile(r"[a-z]+")


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


@dataclass(frozen=True)
class _Style:
    """A style's fixed colours and line weights; its treatment of the scene is in ``_treat``."""

    name: str
    outline: RGB
    line: int
    bubble_fill: RGB
    bubble_line: RGB
    text: RGB
    caption_fill: RGB
    caption_text: RGB
    border: RGB
    paper: RGB
    radius: int


_STYLE_SPECS = {
    "storybook": _Style(
        name="storybook",
        outline=(92, 62, 40),
        line=2,
        bubble_fill=(255, 252, 242),
        bubble_line=(92, 62, 40),
        text=(50, 36, 28),
        caption_fill=(250, 236, 206),
        caption_text=(70, 48, 32),
        border=(60, 40, 28),
        paper=(252, 242, 222),
        radius=18,
    ),
    "manga": _Style(
        name="manga",
        outline=(0, 0, 0),
        line=2,
        bubble_fill=(255, 255, 255),
        bubble_line=(0, 0, 0),
        text=(0, 0, 0),
        caption_fill=(255, 255, 255),
        caption_text=(0, 0, 0),
        border=(0, 0, 0),
        paper=(255, 255, 255),
        radius=22,
    ),
    "noir": _Style(
        name="noir",
        outline=(0, 0, 0),
        line=3,
        bubble_fill=(245, 245, 245),
        bubble_line=(0, 0, 0),
        text=(10, 10, 10),
        caption_fill=(12, 12, 12),
        caption_text=(236, 236, 236),
        border=(0, 0, 0),
        paper=(200, 200, 200),
        radius=4,
    ),
    "watercolor": _Style(
        name="watercolor",
        outline=(86, 76, 96),
        line=1,
        bubble_fill=(253, 250, 242),
        bubble_line=(120, 108, 130),
        text=(60, 52, 70),
        caption_fill=(246, 240, 226),
        caption_text=(70, 60, 80),
        border=(96, 86, 108),
        paper=(248, 243, 231),
        radius=20,
    ),
    "pop-art": _Style(
        name="pop-art",
        outline=(0, 0, 0),
        line=4,
        bubble_fill=(255, 255, 255),
        bubble_line=(0, 0, 0),
        text=(0, 0, 0),
        caption_fill=(255, 228, 0),
        caption_text=(0, 0, 0),
        border=(0, 0, 0),
        paper=(255, 246, 150),
        radius=14,
    ),
}


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
        spec = _STYLE_SPECS.get(style, _STYLE_SPECS[DEFAULT_STYLE])
        width, height = self.width, self.height
        unit = height / 512
        image = Image.new("RGB", (width, height), spec.paper)
        draw = ImageDraw.Draw(image)
        # A floor line so the figure stands on something.
        floor = int(height * 0.9)
        draw.line([(0, floor), (width, floor)], fill=_tone(spec.outline, spec.name), width=2)
        look = look_of(character)
        _draw_figure(
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
        name_font = _font(int(40 * unit))
        body_font = _font(int(18 * unit))
        top = int(40 * unit)
        name = _fit_lines(character.name or "Unnamed", name_font, text_width, 1)
        draw.text((left, top), name[0], font=name_font, fill=spec.text)
        top += int(56 * unit)
        description = character.description or "No description."
        lines = _fit_lines(description, body_font, text_width, 6)
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
                fill=_tone(colour, spec.name),
                outline=spec.outline,
                width=2,
            )
            draw.text((x, top + swatch + 4), label, font=_font(int(14 * unit)), fill=spec.text)
        _border(draw, width, height, spec)
        return _png(image)

    def panel(
        self,
        panel: PanelPlan,
        *,
        style: str,
        characters: Sequence[Character],
        references: dict[str, bytes],
        previous: PanelPlan | None = None,
    ) -> RenderedImage:
        """Returns the panel: background, figures, speech bubbles, caption strip and border."""
        spec = _STYLE_SPECS.get(style, _STYLE_SPECS[DEFAULT_STYLE])
        width, height = self.width, self.height
        caption_height = int(height * 0.16) if panel.caption.strip() else 0
        scene_height = height - caption_height
        text = " ".join((panel.scene, panel.caption)).lower()
        seed = int.from_bytes(hashlib.sha256(f"{spec.name}\n{text}".encode()).digest()[:8], "big")
        rng = random.Random(seed)
        scene = _read_scene(text, seed)
        background = _background(width, scene_height, scene, rng)
        background = _treat(background, spec.name, scene, rng)
        image = Image.new("RGB", (width, height), spec.caption_fill)
        image.paste(background, (0, 0))
        draw = ImageDraw.Draw(image)
        figures = _figures(panel, characters)
        heads = _draw_figures(draw, figures, spec, width, scene_height)
        _draw_bubbles(draw, panel.dialogue, heads, spec, width, scene_height)
        if caption_height:
            _draw_caption(draw, panel.caption, spec, width, height, caption_height)
        _border(draw, width, height, spec)
        return _png(image)


def figure_colours(character: Character, style: str) -> dict[str, RGB]:
    """The exact colours a character's figure is filled with in ``style``."""
    name = style if style in _STYLE_SPECS else DEFAULT_STYLE
    look = look_of(character)
    return {
        "hair": _tone(look.hair, name),
        "skin": _tone(look.skin, name),
        "outfit": _tone(look.outfit, name),
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
        outfit = next((COLOURS[w] for w in _WORD_RE.findall(rest) if w in COLOURS), None)
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
    trousers = _mix(outfit, (30, 30, 40), 0.65)
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


def _mix(first: RGB, second: RGB, amount: float) -> RGB:
    return (
        round(first[0] + (second[0] - first[0]) * amount),
        round(first[1] + (second[1] - first[1]) * amount),
        round(first[2] + (second[2] - first[2]) * amount),
    )


@functools.lru_cache(maxsize=512)
def _tone(colour: RGB, style: str) -> RGB:
    """A colour as the style paints it: grey for noir and manga, loud for pop-art."""
    red, green, blue = colour
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    if style == "noir":
        grey = max(0, min(255, round((luma - 128) * 1.5 + 128)))
        return (grey, grey, grey)
    if style == "manga":
        level = (20, 96, 170, 250)[min(3, int(luma / 64))]
        return (level, level, level)
    if style == "pop-art":
        hue, saturation, value = colorsys.rgb_to_hsv(red / 255, green / 255, blue / 255)
        saturation = min(1.0, saturation * 1.6 + 0.15) if saturation > 0.08 else saturation
        value = max(value, 0.35) if saturation > 0.08 else value
        converted = colorsys.hsv_to_rgb(hue, saturation, value)
        return (round(converted[0] * 255), round(converted[1] * 255), round(converted[2] * 255))
    if style == "watercolor":
        return _mix(colour, (250, 244, 230), 0.18)
    return colour


# ---------------------------------------------------------------- scene


@dataclass(frozen=True)
class _Scene:
    place: str
    time: str
    weather: str
    action: bool
    vessel: bool


def _read_scene(text: str, seed: int) -> _Scene:
    tokens = _WORD_RE.findall(text)
    # "waves", "trees": plurals count as the word.
    words = set(tokens) | {token[:-1] for token in tokens if token.endswith("s")}
    # The place named most wins (ties: the earlier entry); a lighthouse is always the backdrop.
    hits = {place: sum(key in words for key in keys) for place, keys in _SCENE_WORDS.items()}
    place = max(hits, key=lambda name: hits[name])
    if not hits[place]:
        place = _FALLBACK_PLACES[seed % len(_FALLBACK_PLACES)]
    if hits["lighthouse"] or "lamp room" in text:
        place = "lighthouse"
    time = "night" if words & set(_NIGHT) else "dusk" if words & set(_DUSK) else "day"
    if place == "space":
        time = "night"
    weather = "clear"
    for name, keys in (("storm", _STORM), ("rain", _RAIN), ("snow", _SNOW), ("fog", _FOG)):
        if words & set(keys):
            weather = name
            break
    action = bool(words & set(_ACTION)) or text.count("!") >= 2
    vessel = bool(words & {"ship", "boat", "sail", "sails", "fleet", "boats", "ships"})
    return _Scene(place, time, weather, action, vessel)


_SKIES: dict[str, tuple[RGB, RGB]] = {
    "day": ((86, 148, 222), (190, 222, 244)),
    "dusk": ((72, 58, 128), (248, 156, 96)),
    "night": ((8, 12, 36), (40, 52, 96)),
    "storm": ((48, 52, 62), (118, 122, 134)),
}


def _gradient(width: int, height: int, top: RGB, bottom: RGB) -> Image.Image:
    mask = Image.linear_gradient("L").resize((width, max(1, height)))
    return Image.composite(
        Image.new("RGB", mask.size, bottom), Image.new("RGB", mask.size, top), mask
    )


def _background(width: int, height: int, scene: _Scene, rng: random.Random) -> Image.Image:
    sky_key = "storm" if scene.weather in ("storm", "rain") and scene.time == "day" else scene.time
    top, bottom = _SKIES[sky_key]
    image = _gradient(width, height, top, bottom)
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.52, 0.62))
    if scene.place == "indoor":
        _indoor(draw, image, width, height, scene, rng)
    else:
        _sky(draw, width, horizon, scene, rng)
        painter = {
            "lighthouse": _lighthouse,
            "sea": _sea,
            "forest": _forest,
            "city": _city,
            "castle": _castle,
            "mountain": _mountain,
            "desert": _desert,
            "space": _space,
        }.get(scene.place, _field)
        painter(draw, width, height, horizon, scene, rng)
    _weather(draw, image, width, height, scene, rng)
    return image


def _sky(
    draw: ImageDraw.ImageDraw, width: int, horizon: int, scene: _Scene, rng: random.Random
) -> None:
    if scene.time == "night":
        for _ in range(70):
            x, y = rng.randrange(width), rng.randrange(max(1, horizon - 10))
            size = rng.choice((1, 1, 1, 2))
            draw.ellipse([x, y, x + size, y + size], fill=(250, 250, 220))
        if scene.weather == "clear" or scene.place == "space":
            x, y, r = (
                rng.randint(width // 8, width * 7 // 8),
                rng.randint(20, horizon // 3 + 21),
                28,
            )
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(246, 240, 206))
            draw.ellipse([x - r + 12, y - r - 4, x + r + 10, y + r - 6], fill=_SKIES["night"][0])
    elif scene.weather == "clear":
        x, y = rng.randint(width // 8, width * 7 // 8), rng.randint(24, max(25, horizon // 2))
        if scene.time == "dusk":
            y = horizon - rng.randint(10, 40)
        r = 34
        colour = (255, 220, 90) if scene.time == "day" else (255, 150, 70)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    clouds = 5 if scene.weather in ("storm", "rain", "snow") else rng.randint(1, 3)
    colour = (84, 88, 100) if scene.weather in ("storm", "rain") else (246, 246, 250)
    if scene.time == "night":
        colour = (40, 44, 62)
    for _ in range(clouds):
        x, y = rng.randrange(-40, width), rng.randint(10, max(11, horizon // 3))
        for part in range(4):
            px, py = x + part * 26 + rng.randint(-6, 6), y + rng.randint(-8, 8)
            draw.ellipse([px, py, px + 60, py + 34], fill=colour)


def _ground(draw: ImageDraw.ImageDraw, width: int, height: int, horizon: int, colour: RGB) -> None:
    draw.rectangle([0, horizon, width, height], fill=colour)


def _grass(scene: _Scene) -> RGB:
    if scene.weather == "snow":
        return (232, 238, 246)
    return {"day": (96, 164, 82), "dusk": (78, 110, 70), "night": (28, 52, 40)}[scene.time]


def _water(scene: _Scene) -> RGB:
    return {"day": (42, 104, 166), "dusk": (70, 76, 130), "night": (14, 30, 66)}[scene.time]


def _waves(
    draw: ImageDraw.ImageDraw, width: int, top: int, bottom: int, rng: random.Random, colour: RGB
) -> None:
    for _ in range(26):
        x, y = rng.randrange(width), rng.randint(top + 6, max(top + 7, bottom))
        span = rng.randint(18, 46)
        draw.arc([x, y, x + span, y + 12], 200, 340, fill=colour, width=2)


def _sea(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    water = _water(scene)
    draw.rectangle([0, horizon, width, height], fill=water)
    _waves(draw, width, horizon, height, rng, _mix(water, (255, 255, 255), 0.35))
    shore = int(height * 0.86)
    draw.polygon(
        [(0, shore), (width, shore - 14), (width, height), (0, height)], fill=(214, 192, 140)
    )
    if scene.vessel:
        _boat(draw, rng.randint(width // 6, width * 5 // 6), horizon + 14, rng)


def _boat(draw: ImageDraw.ImageDraw, x: int, y: int, rng: random.Random) -> None:
    size = rng.randint(26, 40)
    draw.polygon(
        [
            (x - size, y),
            (x + size, y),
            (x + size * 2 // 3, y + size // 2),
            (x - size * 2 // 3, y + size // 2),
        ],
        fill=(96, 58, 36),
    )
    draw.line([(x, y), (x, y - size * 2)], fill=(60, 40, 30), width=3)
    draw.polygon([(x + 2, y - size * 2), (x + size, y - 6), (x + 2, y - 6)], fill=(244, 240, 226))


def _lighthouse(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    _sea(draw, width, height, horizon, scene, rng)
    side = rng.choice((-1, 1))
    base_x = width // 8 if side < 0 else width * 7 // 8
    cliff = [
        (base_x - 150, height),
        (base_x - 110, horizon + 10),
        (base_x + 90, horizon + 4),
        (base_x + 140, height),
    ]
    draw.polygon(cliff, fill=(92, 84, 78))
    top_y, bottom_y = int(horizon * 0.28), horizon + 10
    half_bottom, half_top = 30, 20
    for stripe in range(5):
        y0 = bottom_y - (bottom_y - top_y) * stripe / 5
        y1 = bottom_y - (bottom_y - top_y) * (stripe + 1) / 5
        w0 = half_bottom - (half_bottom - half_top) * stripe / 5
        w1 = half_bottom - (half_bottom - half_top) * (stripe + 1) / 5
        colour = (238, 236, 228) if stripe % 2 == 0 else (196, 40, 40)
        draw.polygon(
            [(base_x - w0, y0), (base_x + w0, y0), (base_x + w1, y1), (base_x - w1, y1)],
            fill=colour,
        )
    lamp_y = top_y - 22
    lit = scene.time != "day" or scene.weather != "clear"
    if lit:
        direction = -side
        reach = width * 0.9
        draw.polygon(
            [
                (base_x, lamp_y + 10),
                (base_x + direction * reach, lamp_y - 60),
                (base_x + direction * reach, lamp_y + 70),
            ],
            fill=(250, 236, 150),
        )
    draw.rectangle(
        [base_x - 16, lamp_y, base_x + 16, top_y], fill=(255, 232, 120) if lit else (200, 220, 230)
    )
    draw.polygon(
        [(base_x - 22, lamp_y), (base_x + 22, lamp_y), (base_x, lamp_y - 22)], fill=(40, 40, 44)
    )


def _forest(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    grass = _grass(scene)
    _ground(draw, width, height, horizon, grass)
    for row, (scale, shade) in enumerate(((0.55, 0.45), (0.8, 0.25), (1.0, 0.0))):
        leaves = _mix((40, 112, 60), (16, 40, 30), shade + (0.5 if scene.time == "night" else 0))
        if scene.weather == "snow":
            leaves = _mix(leaves, (230, 236, 244), 0.4)
        for _ in range(5 + row * 2):
            x = rng.randrange(-20, width + 20)
            base = horizon + int(row * height * 0.08) + rng.randint(0, 12)
            tall = int(height * 0.34 * scale) + rng.randint(0, 30)
            half = tall // 4
            draw.rectangle([x - 5, base - tall // 4, x + 5, base], fill=(92, 64, 40))
            if rng.random() < 0.5:
                draw.polygon(
                    [(x, base - tall), (x - half, base - tall // 4), (x + half, base - tall // 4)],
                    fill=leaves,
                )
            else:
                draw.ellipse([x - half, base - tall, x + half, base - tall // 4], fill=leaves)


def _city(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    draw.rectangle(
        [0, horizon, width, height], fill=(88, 88, 98) if scene.time == "day" else (40, 40, 50)
    )
    x = -10
    while x < width:
        span = rng.randint(60, 120)
        tall = rng.randint(int(horizon * 0.35), int(horizon * 0.85))
        body = rng.choice(((150, 110, 96), (120, 124, 140), (176, 160, 136), (96, 100, 118)))
        if scene.time == "night":
            body = _mix(body, (10, 12, 30), 0.6)
        draw.rectangle([x, horizon - tall, x + span, horizon + 4], fill=body)
        window = (255, 224, 120) if scene.time == "night" else (196, 220, 236)
        for wy in range(horizon - tall + 12, horizon - 14, 24):
            for wx in range(x + 10, x + span - 14, 22):
                if scene.time != "night" or rng.random() < 0.55:
                    draw.rectangle([wx, wy, wx + 10, wy + 12], fill=window)
        x += span + rng.randint(2, 12)
    draw.line([(0, int(height * 0.82)), (width, int(height * 0.82))], fill=(230, 220, 120), width=3)


def _castle(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    _ground(draw, width, height, horizon, _grass(scene))
    stone = (150, 146, 140) if scene.time == "day" else (70, 70, 84)
    cx = rng.randint(width // 3, width * 2 // 3)
    wall_top = horizon - int(horizon * 0.32)
    draw.rectangle([cx - 150, wall_top, cx + 150, horizon + 6], fill=stone)
    for tx in (cx - 170, cx + 130):
        draw.rectangle([tx, wall_top - 70, tx + 40, horizon + 6], fill=_mix(stone, (0, 0, 0), 0.1))
        draw.polygon(
            [(tx - 6, wall_top - 70), (tx + 46, wall_top - 70), (tx + 20, wall_top - 120)],
            fill=(140, 50, 60),
        )
    for bx in range(cx - 150, cx + 150, 24):
        draw.rectangle([bx, wall_top - 14, bx + 12, wall_top], fill=stone)
    draw.rectangle([cx - 22, horizon - 50, cx + 22, horizon + 6], fill=(70, 44, 30))


def _mountain(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    rock = (112, 110, 140) if scene.time == "day" else (50, 50, 76)
    for _ in range(4):
        peak_x = rng.randrange(width)
        peak_y = horizon - rng.randint(int(horizon * 0.35), int(horizon * 0.75))
        spread = rng.randint(140, 260)
        draw.polygon(
            [(peak_x - spread, horizon + 2), (peak_x, peak_y), (peak_x + spread, horizon + 2)],
            fill=rock,
        )
        cap = (peak_x - spread // 5, peak_y + (horizon - peak_y) // 5)
        draw.polygon([(peak_x, peak_y), cap, (peak_x + spread // 5, cap[1])], fill=(244, 246, 250))
    _ground(draw, width, height, horizon, _grass(scene))


def _desert(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    sand = (226, 190, 128) if scene.time == "day" else (120, 96, 80)
    _ground(draw, width, height, horizon, sand)
    for _ in range(4):
        x = rng.randrange(-100, width)
        draw.ellipse(
            [x, horizon - 30, x + rng.randint(200, 360), horizon + 60],
            fill=_mix(sand, (160, 110, 60), 0.25),
        )
    x = rng.randint(40, width - 40)
    green = (60, 130, 70)
    draw.rounded_rectangle([x - 9, horizon - 80, x + 9, horizon + 20], 9, fill=green)
    draw.rounded_rectangle([x - 34, horizon - 50, x - 20, horizon - 14], 7, fill=green)
    draw.rectangle([x - 30, horizon - 24, x - 8, horizon - 14], fill=green)


def _space(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    x, y, r = rng.randint(80, width - 80), rng.randint(60, horizon), rng.randint(40, 80)
    draw.ellipse([x - r, y - r, x + r, y + r], fill=(196, 120, 80))
    draw.arc(
        [x - r * 1.6, y - r * 0.4, x + r * 1.6, y + r * 0.4],
        160,
        380,
        fill=(230, 200, 150),
        width=4,
    )
    draw.ellipse(
        [-width // 2, int(height * 0.78), width * 3 // 2, height * 2], fill=(150, 150, 160)
    )


def _field(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    grass = _grass(scene)
    far = _mix(grass, _SKIES[scene.time][1], 0.35)
    for _ in range(3):
        x = rng.randrange(-200, width)
        draw.ellipse([x, horizon - 50, x + rng.randint(300, 500), horizon + 80], fill=far)
    _ground(draw, width, height, horizon, grass)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randint(horizon + 10, height)
        colour = rng.choice(((240, 90, 90), (250, 220, 80), (250, 250, 250), (190, 120, 220)))
        draw.ellipse([x, y, x + 5, y + 5], fill=colour)


def _indoor(
    draw: ImageDraw.ImageDraw,
    image: Image.Image,
    width: int,
    height: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    wall = rng.choice(((226, 208, 176), (196, 210, 200), (214, 196, 210), (200, 186, 160)))
    if scene.time == "night":
        wall = _mix(wall, (30, 30, 50), 0.45)
    floor_y = int(height * 0.7)
    draw.rectangle([0, 0, width, floor_y], fill=wall)
    draw.rectangle([0, floor_y, width, height], fill=(132, 92, 60))
    for x in range(0, width, 64):
        draw.line([(x, floor_y), (x - 40, height)], fill=(110, 76, 50), width=2)
    wx = rng.randint(width // 10, width // 2)
    window = _gradient(150, 110, *_SKIES["night" if scene.time == "night" else scene.time])
    image.paste(window, (wx, int(height * 0.14)))
    draw.rectangle(
        [wx, int(height * 0.14), wx + 150, int(height * 0.14) + 110], outline=(90, 62, 40), width=6
    )
    draw.line(
        [(wx + 75, int(height * 0.14)), (wx + 75, int(height * 0.14) + 110)],
        fill=(90, 62, 40),
        width=4,
    )
    fx = rng.randint(width // 2 + 40, width - 140)
    draw.rectangle(
        [fx, int(height * 0.18), fx + 90, int(height * 0.18) + 70],
        fill=(120, 160, 120),
        outline=(150, 110, 50),
        width=6,
    )
    lamp_x = width - 70
    draw.line([(lamp_x, floor_y - 150), (lamp_x, floor_y)], fill=(60, 50, 40), width=4)
    draw.polygon(
        [
            (lamp_x - 26, floor_y - 150),
            (lamp_x + 26, floor_y - 150),
            (lamp_x + 16, floor_y - 190),
            (lamp_x - 16, floor_y - 190),
        ],
        fill=(250, 220, 140),
    )


def _weather(
    draw: ImageDraw.ImageDraw,
    image: Image.Image,
    width: int,
    height: int,
    scene: _Scene,
    rng: random.Random,
) -> None:
    if scene.place == "indoor":
        return
    if scene.weather in ("rain", "storm"):
        for _ in range(160 if scene.weather == "storm" else 110):
            x, y = rng.randrange(-40, width), rng.randrange(height)
            draw.line([(x, y), (x + 8, y + 22)], fill=(190, 200, 220), width=1)
    if scene.weather == "storm":
        x = rng.randint(width // 5, width * 4 // 5)
        points = [(x, 0)]
        y = 0
        while y < height * 0.45:
            y += rng.randint(20, 40)
            x += rng.randint(-26, 26)
            points.append((x, y))
        draw.line(points, fill=(255, 250, 200), width=4)
    if scene.weather == "snow":
        for _ in range(140):
            x, y = rng.randrange(width), rng.randrange(height)
            draw.ellipse([x, y, x + 4, y + 4], fill=(255, 255, 255))
    if scene.weather == "fog":
        veil = Image.new("RGB", image.size, (220, 224, 230))
        image.paste(Image.blend(image, veil, 0.45), (0, 0))


# ---------------------------------------------------------------- style treatments


@functools.lru_cache(maxsize=16)
def _dots(width: int, height: int, spacing: int, radius: float, offset: bool) -> Image.Image:
    """A mask of dots on a grid: screentone for manga, halftone for pop-art."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for row, y in enumerate(range(0, height + spacing, spacing)):
        shift = spacing // 2 if offset and row % 2 else 0
        for x in range(-spacing, width + spacing, spacing):
            cx = x + shift
            draw.ellipse([cx - radius, y - radius, cx + radius, y + radius], fill=255)
    return mask


@functools.lru_cache(maxsize=8)
def _paper(width: int, height: int) -> Image.Image:
    """A soft, deterministic paper grain for watercolour (effect_noise is not reproducible)."""
    rng = random.Random(width * 7919 + height)
    tile = Image.frombytes("L", (48, 32), bytes(rng.randrange(90, 166) for _ in range(48 * 32)))
    return tile.resize((width, height), Image.Resampling.BICUBIC)


def _treat(image: Image.Image, style: str, scene: _Scene, rng: random.Random) -> Image.Image:
    width, height = image.size
    if style == "noir":
        grey = ImageOps.autocontrast(image.convert("L"), cutoff=2)
        grey = grey.point(lambda value: 0 if value < 60 else min(255, int(value * 1.15)))
        shade = Image.new("L", image.size, 0)
        draw = ImageDraw.Draw(shade)
        # Hard diagonal shadows: light through blinds, or a building's edge.
        if scene.place == "indoor":
            for y in range(-height, height, 34):
                draw.polygon(
                    [(0, y), (width, y + height // 2), (width, y + height // 2 + 14), (0, y + 14)],
                    fill=150,
                )
        else:
            x = rng.randint(width // 3, width * 2 // 3)
            draw.polygon([(x, 0), (width, 0), (width, height), (x - width // 3, height)], fill=140)
        grey = Image.composite(Image.new("L", image.size, 8), grey, shade)
        return grey.convert("RGB")
    if style == "manga":
        grey = ImageOps.autocontrast(image.convert("L"), cutoff=1)
        black = grey.point(lambda value: 255 if value < 70 else 0)
        middle = grey.point(lambda value: 255 if 70 <= value < 170 else 0)
        tone = Image.new("L", image.size, 255)
        tone.paste(
            0,
            mask=Image.composite(
                _dots(width, height, 7, 1.6, True), Image.new("L", image.size, 0), middle
            ),
        )
        tone.paste(0, mask=black)
        if scene.action:
            _speed_lines(tone, rng)
        return tone.convert("RGB")
    if style == "pop-art":
        loud = ImageEnhance.Color(image).enhance(2.0)
        loud = ImageOps.posterize(loud, 3)
        darker = ImageEnhance.Brightness(loud).enhance(0.55)
        return Image.composite(darker, loud, _dots(width, height, 12, 3.2, True))
    if style == "watercolor":
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        for _ in range(12):
            x, y = rng.randrange(width), rng.randrange(height)
            r = rng.randint(40, 120)
            colour = cast(RGB, image.getpixel((min(width - 1, x), min(height - 1, y))))
            draw.ellipse([x - r, y - r * 3 // 4, x + r, y + r * 3 // 4], fill=(*colour[:3], 90))
        soft = image.filter(ImageFilter.GaussianBlur(3))
        blobs = layer.filter(ImageFilter.GaussianBlur(14))
        soft.paste(blobs, (0, 0), blobs)
        soft = _mix_image(soft, (250, 244, 230), 0.16)
        return Image.composite(soft, _mix_image(soft, (200, 190, 170), 0.12), _paper(width, height))
    # storybook: warm, soft pastel.
    return _mix_image(image, (255, 232, 196), 0.22)


def _mix_image(image: Image.Image, colour: RGB, amount: float) -> Image.Image:
    return Image.blend(image, Image.new("RGB", image.size, colour), amount)


def _speed_lines(tone: Image.Image, rng: random.Random) -> None:
    width, height = tone.size
    draw = ImageDraw.Draw(tone)
    cx, cy = width // 2, height // 2
    inner = min(width, height) * 0.42
    for number in range(90):
        angle = number * (2 * math.pi / 90) + rng.uniform(-0.02, 0.02)
        reach = max(width, height)
        start = inner + rng.uniform(0, 60)
        draw.line(
            [
                (cx + math.cos(angle) * start, cy + math.sin(angle) * start),
                (cx + math.cos(angle) * reach, cy + math.sin(angle) * reach),
            ],
            fill=0,
            width=1,
        )


# ---------------------------------------------------------------- figures


def _figures(panel: PanelPlan, characters: Sequence[Character]) -> list[tuple[Character, bool]]:
    """The characters to draw (named in the panel or speaking), with whether each speaks."""
    known = {character.name: character for character in characters}
    speakers = [line.speaker for line in panel.dialogue]
    names = list(dict.fromkeys([*panel.characters, *(s for s in speakers if s in known)]))
    cast = [
        (known.get(name) or Character(name=name, description=""), name in speakers)
        for name in names
    ]
    return cast[:MAX_FIGURES]


def _draw_figures(
    draw: ImageDraw.ImageDraw,
    figures: list[tuple[Character, bool]],
    spec: _Style,
    width: int,
    scene_height: int,
) -> dict[str, tuple[int, int]]:
    """Draws the figures in a row; returns where each head's top is, for bubble tails."""
    heads: dict[str, tuple[int, int]] = {}
    count = len(figures)
    if not count:
        return heads
    size = int(scene_height * (0.56 if count <= 2 else 0.5))
    ground = scene_height - int(scene_height * 0.04)
    for number, (character, speaking) in enumerate(figures):
        x = int(width * (number + 1) / (count + 1))
        facing = 1 if x < width // 2 else -1
        look = look_of(character)
        top = _draw_figure(
            draw, look, spec, x=x, ground=ground, size=size, facing=facing, speaking=speaking
        )
        heads[character.name] = (x, top)
    return heads


def _draw_figure(
    draw: ImageDraw.ImageDraw,
    look: Look,
    spec: _Style,
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
    outline = _tone(spec.outline, style)
    line = max(1, round(spec.line * size / 280))
    skin, hair = _tone(look.skin, style), _tone(look.hair, style)
    outfit, trousers = _tone(look.outfit, style), _tone(look.trousers, style)
    top = ground - height
    radius = int(height * 0.105)
    head_y = top + radius
    shoulders = top + radius * 2 + int(height * 0.02)
    waist = top + int(height * 0.58)
    half = int(height * breadth / 2)
    # Legs first, so the coat hangs over them.
    leg = max(4, half // 2)
    for side in (-1, 1):
        lx = x + side * (half // 2)
        draw.rectangle(
            [lx - leg // 2, waist - 4, lx + leg // 2, ground],
            fill=trousers,
            outline=outline,
            width=line,
        )
        draw.ellipse(
            [lx - leg // 2 - 3 + side * 3, ground - 8, lx + leg // 2 + 3 + side * 6, ground + 3],
            fill=outline,
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
    sleeve = _tone(_mix(look.outfit, (0, 0, 0), 0.18), style)
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
        draw.ellipse([ex - 3, eye_y - 3, ex + 3, eye_y + 3], fill=_tone((20, 20, 20), style))
    mx = x + facing * radius // 4
    mouth_y = head_y + radius // 2
    if speaking:
        draw.ellipse(
            [mx - 5, mouth_y - 3, mx + 5, mouth_y + 5],
            fill=_tone((90, 30, 30), style),
        )
    else:
        draw.arc(
            [mx - 7, mouth_y - 6, mx + 7, mouth_y + 3],
            20,
            160,
            fill=_tone((60, 30, 30), style),
            width=2,
        )
    return top


# ---------------------------------------------------------------- text


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _fit_lines(
    text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int, max_lines: int
) -> list[str]:
    """Wraps ``text`` to ``width`` pixels; the last line ends in an ellipsis when it is cut."""
    words = text.split()
    lines: list[str] = []
    current = ""
    index = 0
    while index < len(words):
        word = words[index]
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width:
            current = candidate
            index += 1
            continue
        if not current:
            # A single word (or a script without spaces) wider than the line: cut it.
            cut = len(word)
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            words[index] = word[cut:]
        else:
            lines.append(current)
            current = ""
        if len(lines) == max_lines:
            break
    if current and len(lines) < max_lines:
        lines.append(current)
        current = ""
    cut_short = index < len(words) or bool(current)
    if cut_short and lines:
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1].rstrip()
        lines[-1] = last.rstrip(" ,;:") + "…"
    return lines


def _draw_bubbles(
    draw: ImageDraw.ImageDraw,
    dialogue: Sequence[DialogueLine],
    heads: dict[str, tuple[int, int]],
    spec: _Style,
    width: int,
    scene_height: int,
) -> None:
    lines = [line for line in dialogue if line.text.strip()][:MAX_BUBBLES]
    if not lines:
        return
    unit = scene_height / 430
    font = _font(int(16 * unit))
    line_height = int(20 * unit)
    margin = int(14 * unit)
    pad = int(10 * unit)
    column = (width - margin * (len(lines) + 1)) // len(lines)
    max_width = min(column, int(width * 0.62))
    highest_head = min((top for _, top in heads.values()), default=int(scene_height * 0.7))
    max_lines = max(1, min(5, (highest_head - margin * 3 - pad * 2) // line_height))
    for number, line in enumerate(lines):
        wrapped = _fit_lines(f"{line.speaker}: {line.text}", font, max_width - pad * 2, max_lines)
        text_width = max(int(font.getlength(text)) for text in wrapped)
        box_width = text_width + pad * 2
        box_height = len(wrapped) * line_height + pad * 2
        left = margin + number * (column + margin) + (column - box_width) // 2
        top = margin + (number % 2) * int(8 * unit)
        box = (left, top, left + box_width, top + box_height)
        head = heads.get(line.speaker)
        target = (
            (head[0], head[1] - int(6 * unit))
            if head
            else ((box[0] + box[2]) // 2, box[3] + int(26 * unit))
        )
        anchor = max(box[0] + spec.radius + 4, min(box[2] - spec.radius - 12, target[0]))
        tail = [(anchor - int(9 * unit), box[3] - 2), (anchor + int(9 * unit), box[3] - 2), target]
        draw.polygon(tail, fill=spec.bubble_fill, outline=spec.bubble_line, width=max(1, spec.line))
        draw.rounded_rectangle(
            box,
            spec.radius,
            fill=spec.bubble_fill,
            outline=spec.bubble_line,
            width=max(1, spec.line),
        )
        # Cover the tail's top edge where it joins the bubble.
        draw.line(
            [(tail[0][0] + 2, box[3] - 2), (tail[1][0] - 2, box[3] - 2)],
            fill=spec.bubble_fill,
            width=max(2, spec.line + 1),
        )
        y = top + pad
        for text in wrapped:
            draw.text((left + pad, y), text, font=font, fill=spec.text)
            y += line_height


def _draw_caption(
    draw: ImageDraw.ImageDraw, caption: str, spec: _Style, width: int, height: int, strip: int
) -> None:
    top = height - strip
    unit = height / 512
    font = _font(int(17 * unit))
    pad = int(12 * unit)
    line_height = int(22 * unit)
    max_lines = max(1, (strip - pad) // line_height)
    draw.rectangle([0, top, width, height], fill=spec.caption_fill)
    draw.line([(0, top), (width, top)], fill=spec.border, width=max(2, spec.line))
    lines = _fit_lines(caption, font, width - pad * 3, max_lines)
    y = top + (strip - len(lines) * line_height) // 2
    for text in lines:
        draw.text((pad + pad // 2, y), text, font=font, fill=spec.caption_text)
        y += line_height


def _border(draw: ImageDraw.ImageDraw, width: int, height: int, spec: _Style) -> None:
    thickness = max(4, round(6 * height / 512)) + (2 if spec.name == "pop-art" else 0)
    draw.rectangle([0, 0, width - 1, height - 1], outline=(0, 0, 0), width=thickness)


def _png(image: Image.Image) -> RenderedImage:
    buffer = io.BytesIO()
    # compress_level 6 and no metadata: the same drawing gives the same bytes, at a fair speed.
    image.save(buffer, format="PNG", compress_level=6)
    return RenderedImage(
        data=buffer.getvalue(), width=image.width, height=image.height, content_type="image/png"
    )
