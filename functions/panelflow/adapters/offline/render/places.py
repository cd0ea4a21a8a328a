"""The places a scene can show (sea, forest, city, ...) and the background they make."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw

from panelflow.adapters.offline.render.scenery import (
    SKIES,
    Backdrop,
    Scene,
    draw_ground,
    draw_sky,
    draw_weather,
    gradient,
    grass_colour,
    water_colour,
)
from panelflow.adapters.offline.render.styles import RGB, mix


def paint_background(width: int, height: int, scene: Scene, rng: random.Random) -> Image.Image:
    sky_key = "storm" if scene.weather in ("storm", "rain") and scene.time == "day" else scene.time
    top, bottom = SKIES[sky_key]
    image = gradient(width, height, top, bottom)
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.52, 0.62))
    backdrop = Backdrop(draw, image, width, height, horizon, scene, rng)
    if scene.place == "indoor":
        _indoor(backdrop)
    else:
        draw_sky(draw, width, horizon, scene, rng)
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
        painter(backdrop)
    draw_weather(backdrop)
    return image


def _waves(
    draw: ImageDraw.ImageDraw, width: int, top: int, bottom: int, rng: random.Random, colour: RGB
) -> None:
    for _ in range(26):
        x, y = rng.randrange(width), rng.randint(top + 6, max(top + 7, bottom))
        span = rng.randint(18, 46)
        draw.arc([x, y, x + span, y + 12], 200, 340, fill=colour, width=2)


def _sea(backdrop: Backdrop) -> None:
    draw, width, height, horizon, scene, rng = backdrop.unpack()
    water = water_colour(scene)
    draw.rectangle([0, horizon, width, height], fill=water)
    _waves(draw, width, horizon, height, rng, mix(water, (255, 255, 255), 0.35))
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


def _lighthouse(backdrop: Backdrop) -> None:
    draw, width, height, horizon, scene, rng = backdrop.unpack()
    _sea(backdrop)
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


def _forest(backdrop: Backdrop) -> None:
    draw, width, height, horizon, scene, rng = backdrop.unpack()
    grass = grass_colour(scene)
    draw_ground(draw, width, height, horizon, grass)
    for row, (scale, shade) in enumerate(((0.55, 0.45), (0.8, 0.25), (1.0, 0.0))):
        leaves = mix((40, 112, 60), (16, 40, 30), shade + (0.5 if scene.time == "night" else 0))
        if scene.weather == "snow":
            leaves = mix(leaves, (230, 236, 244), 0.4)
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


def _city(backdrop: Backdrop) -> None:
    draw, width, height, horizon, scene, rng = backdrop.unpack()
    draw.rectangle(
        [0, horizon, width, height], fill=(88, 88, 98) if scene.time == "day" else (40, 40, 50)
    )
    x = -10
    while x < width:
        span = rng.randint(60, 120)
        tall = rng.randint(int(horizon * 0.35), int(horizon * 0.85))
        body = rng.choice(((150, 110, 96), (120, 124, 140), (176, 160, 136), (96, 100, 118)))
        if scene.time == "night":
            body = mix(body, (10, 12, 30), 0.6)
        draw.rectangle([x, horizon - tall, x + span, horizon + 4], fill=body)
        window = (255, 224, 120) if scene.time == "night" else (196, 220, 236)
        for wy in range(horizon - tall + 12, horizon - 14, 24):
            for wx in range(x + 10, x + span - 14, 22):
                if scene.time != "night" or rng.random() < 0.55:
                    draw.rectangle([wx, wy, wx + 10, wy + 12], fill=window)
        x += span + rng.randint(2, 12)
    draw.line([(0, int(height * 0.82)), (width, int(height * 0.82))], fill=(230, 220, 120), width=3)


def _castle(backdrop: Backdrop) -> None:
    draw, width, height, horizon, scene, rng = backdrop.unpack()
    draw_ground(draw, width, height, horizon, grass_colour(scene))
    stone = (150, 146, 140) if scene.time == "day" else (70, 70, 84)
    cx = rng.randint(width // 3, width * 2 // 3)
    wall_top = horizon - int(horizon * 0.32)
    draw.rectangle([cx - 150, wall_top, cx + 150, horizon + 6], fill=stone)
    for tx in (cx - 170, cx + 130):
        draw.rectangle([tx, wall_top - 70, tx + 40, horizon + 6], fill=mix(stone, (0, 0, 0), 0.1))
        draw.polygon(
            [(tx - 6, wall_top - 70), (tx + 46, wall_top - 70), (tx + 20, wall_top - 120)],
            fill=(140, 50, 60),
        )
    for bx in range(cx - 150, cx + 150, 24):
        draw.rectangle([bx, wall_top - 14, bx + 12, wall_top], fill=stone)
    draw.rectangle([cx - 22, horizon - 50, cx + 22, horizon + 6], fill=(70, 44, 30))


def _mountain(backdrop: Backdrop) -> None:
    draw, width, height, horizon, scene, rng = backdrop.unpack()
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
    draw_ground(draw, width, height, horizon, grass_colour(scene))


def _desert(backdrop: Backdrop) -> None:
    draw, width, height, horizon, scene, rng = backdrop.unpack()
    sand = (226, 190, 128) if scene.time == "day" else (120, 96, 80)
    draw_ground(draw, width, height, horizon, sand)
    for _ in range(4):
        x = rng.randrange(-100, width)
        draw.ellipse(
            [x, horizon - 30, x + rng.randint(200, 360), horizon + 60],
            fill=mix(sand, (160, 110, 60), 0.25),
        )
    x = rng.randint(40, width - 40)
    green = (60, 130, 70)
    draw.rounded_rectangle([x - 9, horizon - 80, x + 9, horizon + 20], 9, fill=green)
    draw.rounded_rectangle([x - 34, horizon - 50, x - 20, horizon - 14], 7, fill=green)
    draw.rectangle([x - 30, horizon - 24, x - 8, horizon - 14], fill=green)


def _space(backdrop: Backdrop) -> None:
    draw, width, height, horizon, _scene, rng = backdrop.unpack()
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


def _field(backdrop: Backdrop) -> None:
    draw, width, height, horizon, scene, rng = backdrop.unpack()
    grass = grass_colour(scene)
    far = mix(grass, SKIES[scene.time][1], 0.35)
    for _ in range(3):
        x = rng.randrange(-200, width)
        draw.ellipse([x, horizon - 50, x + rng.randint(300, 500), horizon + 80], fill=far)
    draw_ground(draw, width, height, horizon, grass)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randint(horizon + 10, height)
        colour = rng.choice(((240, 90, 90), (250, 220, 80), (250, 250, 250), (190, 120, 220)))
        draw.ellipse([x, y, x + 5, y + 5], fill=colour)


def _indoor(backdrop: Backdrop) -> None:
    draw, width, height, _, scene, rng = backdrop.unpack()
    image = backdrop.image
    wall = rng.choice(((226, 208, 176), (196, 210, 200), (214, 196, 210), (200, 186, 160)))
    if scene.time == "night":
        wall = mix(wall, (30, 30, 50), 0.45)
    floor_y = int(height * 0.7)
    draw.rectangle([0, 0, width, floor_y], fill=wall)
    draw.rectangle([0, floor_y, width, height], fill=(132, 92, 60))
    for x in range(0, width, 64):
        draw.line([(x, floor_y), (x - 40, height)], fill=(110, 76, 50), width=2)
    wx = rng.randint(width // 10, width // 2)
    window = gradient(150, 110, *SKIES["night" if scene.time == "night" else scene.time])
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
