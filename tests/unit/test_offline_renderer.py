"""The Pillow renderer: valid PNGs, stable figures, styles, sides, no lettering, speed."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageStat

from panelflow.adapters.offline.plan import vocabulary
from panelflow.adapters.offline.render import figures, styles
from panelflow.adapters.offline.render.figures import figure_colours, look_of
from panelflow.adapters.offline.renderer import PillowImageGenerator
from panelflow.domain.models import (
    Character,
    DialogueLine,
    PanelPlan,
    PanelRequest,
    RenderedImage,
)

MIRA = Character(
    name="Mira",
    description="slim build, olive skin, long auburn hair, wearing a teal coat",
    voice="female",
)
TOM = Character(
    name="Tom",
    description="stocky build, fair skin, short black hair, wearing a mustard jacket",
    voice="male",
)


def panel(
    index: int = 0,
    scene: str = "Mira walks along the beach by the sea.",
    caption: str = "Mira walks along the beach.",
    dialogue: tuple[DialogueLine, ...] = (),
    characters: tuple[str, ...] = ("Mira",),
) -> PanelPlan:
    return PanelPlan(
        index=index,
        scene=scene,
        caption=caption,
        narration=caption,
        dialogue=dialogue,
        characters=characters,
        image_prompt=f"storybook comic panel: {scene}",
    )


def render(plan: PanelPlan, style: str = "storybook", **options) -> RenderedImage:
    generator = PillowImageGenerator(**options)
    return generator.panel(PanelRequest(plan, style, [MIRA, TOM], {}))


def decode(image: RenderedImage) -> Image.Image:
    decoded = Image.open(io.BytesIO(image.data))
    decoded.load()
    return decoded


def count(image: RenderedImage, colour: tuple[int, int, int]) -> int:
    colours = decode(image).convert("RGB").getcolors(maxcolors=1 << 20) or []
    return next((number for number, value in colours if value == colour), 0)


def test_panel_is_a_png_of_the_requested_size():
    image = render(panel())

    decoded = decode(image)
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert decoded.format == "PNG"
    assert decoded.size == (768, 512) == (image.width, image.height)
    assert image.content_type == "image/png"


def test_other_sizes_are_honoured():
    image = render(panel(), width=400, height=300)

    assert decode(image).size == (400, 300)


def test_same_input_gives_identical_bytes():
    plan = panel(dialogue=(DialogueLine("Mira", "The tide is turning."),))

    assert render(plan, "watercolor").data == render(plan, "watercolor").data
    assert render(plan, "manga").data == render(plan, "manga").data


def test_a_character_wears_the_same_outfit_in_every_panel():
    first = panel(index=0, scene="Mira stands in the dark forest at night.", caption="Night.")
    second = panel(
        index=3,
        scene="Mira crosses a busy city street in the rain.",
        caption="The city.",
        characters=("Tom", "Mira"),
        dialogue=(DialogueLine("Mira", "Wait for me!"),),
    )
    outfit = figure_colours(MIRA, "storybook")["outfit"]

    in_first, in_second = count(render(first), outfit), count(render(second), outfit)

    assert in_first > 1500
    assert in_second > 1000
    assert count(render(panel(characters=())), outfit) == 0


def test_figure_colours_come_from_the_description():
    assert look_of(MIRA).outfit == figures.COLOURS["teal"]
    assert look_of(MIRA).hair == figures.COLOURS["auburn"]
    assert look_of(MIRA).skin == figures.SKIN_TONES["olive"]
    assert look_of(TOM).outfit == figures.COLOURS["mustard"]
    assert look_of(TOM).hair == figures.COLOURS["black"]


def test_free_text_descriptions_are_read_too():
    character = Character("Ana", "A tall woman with dark brown hair and a bright red dress.")

    look = look_of(character)

    assert look.hair == figures.COLOURS["brown"]
    assert look.outfit == figures.COLOURS["red"]
    assert look.build == "tall"
    assert look.long_garment


def test_every_word_the_planner_uses_is_drawable():
    colours = figures.COLOURS
    assert set(vocabulary.HAIR_COLOURS) <= set(colours)
    assert set(vocabulary.OUTFIT_COLOURS) <= set(colours)
    assert set(vocabulary.SKIN_TONES) <= set(figures.SKIN_TONES)
    assert set(vocabulary.BUILDS) <= set(figures.BUILDS)
    assert set(vocabulary.HAIR_STYLES) <= set(figures.HAIR_STYLES)


def test_undescribed_characters_still_look_the_same_each_time():
    stranger = Character("Zed", "")

    assert look_of(stranger) == look_of(Character("Zed", ""))
    assert look_of(stranger) != look_of(Character("Quinn", ""))


def test_styles_give_different_images():
    plan = panel(dialogue=(DialogueLine("Mira", "Look at the waves."),))

    images = {style: render(plan, style).data for style in styles.STYLES}

    assert len(set(images.values())) == len(styles.STYLES)


def test_noir_and_manga_are_greyscale_and_pop_art_is_saturated():
    plan = panel()

    for style in ("noir", "manga"):
        red, green, blue = decode(render(plan, style)).convert("RGB").split()
        assert red.tobytes() == green.tobytes() == blue.tobytes()
    saturation = ImageStat.Stat(decode(render(plan, "pop-art")).convert("HSV")).mean[1]
    assert saturation > ImageStat.Stat(decode(render(plan, "storybook")).convert("HSV")).mean[1]


def test_unknown_style_falls_back_to_storybook():
    assert render(panel(), "cubist").data == render(panel(), "storybook").data


def test_night_scenes_are_darker_than_day_scenes():
    night = panel(scene="The moon rose over the sea at night.", characters=())
    day = panel(scene="The sun shone on the sea at noon.", characters=())

    def brightness(plan: PanelPlan) -> float:
        return ImageStat.Stat(decode(render(plan)).convert("L").crop((0, 0, 768, 400))).mean[0]

    assert brightness(night) < brightness(day) - 40


def test_scene_keywords_change_the_background():
    scenes = [
        "A lighthouse on the cliff.",
        "Deep in the forest.",
        "The city street.",
        "Inside the kitchen.",
    ]
    images = {render(panel(scene=scene, characters=())).data for scene in scenes}

    assert len(images) == len(scenes)


def test_panels_carry_no_lettering():
    # Lettering is a layer (panelflow.lettering, the clients): no bubbles, no caption strip.
    talking = panel(dialogue=(DialogueLine("Mira", "The tide is turning, hurry!", "left"),))
    bubble = styles.STYLE_SPECS["storybook"].bubble_fill
    strip = styles.STYLE_SPECS["storybook"].caption_fill

    assert count(render(talking), bubble) == 0
    assert count(render(talking), strip) == 0


def _centre_x(image: RenderedImage, colour: tuple[int, int, int]) -> float:
    pixels = decode(image).convert("RGB")
    xs = [
        x for x in range(0, 768, 2) for y in range(0, 512, 2) if pixels.getpixel((x, y)) == colour
    ]
    assert xs, "the figure is drawn"
    return sum(xs) / len(xs)


@pytest.mark.parametrize(("side", "left_half"), [("left", True), ("right", False)])
def test_the_speakers_side_decides_where_the_figure_stands(side, left_half):
    plan = panel(
        dialogue=(DialogueLine("Mira", "Over here!", side),),
        characters=("Mira",),
    )
    outfit = figure_colours(MIRA, "storybook")["outfit"]

    assert (_centre_x(render(plan), outfit) < 384) is left_half


def test_long_dialogue_changes_nothing_in_the_picture_size():
    words = " ".join(["word"] * 400)
    plan = panel(
        dialogue=(
            DialogueLine("Mira", words),
            DialogueLine("Tom", words),
            DialogueLine("Mira", words),
            DialogueLine("Tom", "never drawn"),
        ),
        characters=("Mira", "Tom"),
    )

    image = decode(render(plan))

    assert image.size == (768, 512)


def test_no_caption_strip_is_drawn():
    fill = styles.STYLE_SPECS["storybook"].caption_fill

    assert count(render(panel(caption="A long walk.")), fill) == 0


def test_border_is_black():
    image = decode(render(panel())).convert("RGB")

    corners = [(0, 0), (767, 0), (0, 511), (767, 511), (384, 2), (2, 256)]
    assert all(image.getpixel(point) == (0, 0, 0) for point in corners)


def test_unknown_speakers_and_other_scripts_do_not_break_rendering():
    plan = panel(
        scene="夜の海は静かだった。",
        caption="夜の海は静かだった。ミラは灯台に登った。" * 10,
        dialogue=(DialogueLine("Someone", "火をつけよう"),),
        characters=("Nobody",),
    )

    assert decode(render(plan)).size == (768, 512)


@pytest.mark.parametrize("style", styles.STYLES)
def test_character_sheet_shows_the_figure(style):
    sheet = PillowImageGenerator().character_sheet(MIRA, style=style)

    assert decode(sheet).size == (768, 512)
    assert count(sheet, figure_colours(MIRA, style)["outfit"]) > 5000


def test_rendering_a_panel_is_fast():
    generator = PillowImageGenerator()
    plan = panel(
        scene="A storm at night over the lighthouse and the sea.",
        dialogue=(DialogueLine("Mira", "Hold on!"), DialogueLine("Tom", "I am trying!")),
        characters=("Mira", "Tom"),
    )
    timings = []
    for style in styles.STYLES:
        started = time.perf_counter()
        generator.panel(PanelRequest(plan, style, [MIRA, TOM], {}))
        timings.append(time.perf_counter() - started)

    # About 0.03-0.1 s each here; the bound leaves room for a slow CI machine.
    assert sum(timings) / len(timings) < 0.5
