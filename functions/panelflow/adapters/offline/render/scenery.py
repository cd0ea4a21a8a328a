"""Reading a scene from its text, and the sky, ground and weather every place shares."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw

from panelflow.adapters.offline.render.styles import RGB


def _keys(text: str) -> tuple[str, ...]:
    return tuple(text.split())


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

WORD_RE = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Scene:
    place: str
    time: str
    weather: str
    action: bool
    vessel: bool


@dataclass(frozen=True)
class Backdrop:
    """What every background painter draws on and with: one panel's canvas and its scene."""

    draw: ImageDraw.ImageDraw
    image: Image.Image
    width: int
    height: int
    horizon: int
    scene: Scene
    rng: random.Random

    def unpack(self) -> tuple[ImageDraw.ImageDraw, int, int, int, Scene, random.Random]:
        """What the painters read, in the order they name it."""
        return self.draw, self.width, self.height, self.horizon, self.scene, self.rng


def read_scene(text: str, seed: int) -> Scene:
    tokens = WORD_RE.findall(text)
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
    return Scene(place, time, weather, action, vessel)


SKIES: dict[str, tuple[RGB, RGB]] = {
    "day": ((86, 148, 222), (190, 222, 244)),
    "dusk": ((72, 58, 128), (248, 156, 96)),
    "night": ((8, 12, 36), (40, 52, 96)),
    "storm": ((48, 52, 62), (118, 122, 134)),
}


def gradient(width: int, height: int, top: RGB, bottom: RGB) -> Image.Image:
    mask = Image.linear_gradient("L").resize((width, max(1, height)))
    return Image.composite(
        Image.new("RGB", mask.size, bottom), Image.new("RGB", mask.size, top), mask
    )


def draw_sky(
    draw: ImageDraw.ImageDraw, width: int, horizon: int, scene: Scene, rng: random.Random
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
            draw.ellipse([x - r + 12, y - r - 4, x + r + 10, y + r - 6], fill=SKIES["night"][0])
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


def draw_ground(
    draw: ImageDraw.ImageDraw, width: int, height: int, horizon: int, colour: RGB
) -> None:
    draw.rectangle([0, horizon, width, height], fill=colour)


def grass_colour(scene: Scene) -> RGB:
    if scene.weather == "snow":
        return (232, 238, 246)
    return {"day": (96, 164, 82), "dusk": (78, 110, 70), "night": (28, 52, 40)}[scene.time]


def water_colour(scene: Scene) -> RGB:
    return {"day": (42, 104, 166), "dusk": (70, 76, 130), "night": (14, 30, 66)}[scene.time]


def draw_weather(backdrop: Backdrop) -> None:
    draw, width, height, _, scene, rng = backdrop.unpack()
    image = backdrop.image
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
