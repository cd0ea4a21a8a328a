"""Lettering: every character drawn by a font that has it, lines broken by script, no text lost."""
# ruff: noqa: RUF001  (samples in many scripts, full-width punctuation meant)

from __future__ import annotations

import functools
import re

import pytest
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image

from panelflow.domain.models import DialogueLine
from panelflow.domain.writing import tokens
from panelflow.lettering import PanelText, chain_for, letter_panel
from panelflow.lettering.panel import Block, blocks_of, lay_out
from panelflow.lettering.text import wrap

SAMPLES = {
    "en": "The lighthouse keeper climbed the stairs; “Hold on!” she cried — 42 steps.",
    "de": "Über den Wellen glühte das Licht. „Schnell!“ rief Mira.",
    "fr": "« Vite ! » cria Mira. L’orage éclatait au-dessus du phare.",
    "el": "Ο φάρος έλαμπε πάνω από τη θάλασσα. «Γρήγορα!» φώναξε η Μίρα.",
    "ru": "Маяк светил над морем. «Быстрее!» — крикнула Мира.",
    "ja": "夜明けの灯台。「早く！」とミラは叫んだ。トマスは油を運んだ。",
    "zh": "灯塔在海上闪耀。「快点！」米拉喊道。",
    "ko": "등대가 바다 위에서 빛났다. 「빨리!」 미라가 외쳤다.",
    "ar": "أضاءت المنارة فوق البحر. «أسرع!» صاحت ميرا عند الساعة 12.",
    "he": "המגדלור האיר מעל הים. „מהר!” צעקה מירה.",
    "hi": "प्रकाशस्तंभ समुद्र के ऊपर चमक रहा था। मीरा ने कहा, “जल्दी करो!”",
}


@functools.cache
def _cmap(path: str, index: int) -> set[int]:
    """The font's character map, read here with fontTools, independently of the resolver."""
    font = TTCollection(path).fonts[index] if path.endswith(".ttc") else TTFont(path)
    return set(font.getBestCmap())


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_every_character_is_in_the_font_that_draws_it(language):
    text = SAMPLES[language]
    chain = chain_for(language)

    runs = chain.runs(text)

    assert "".join(run.text for run in runs) == text  # nothing left out
    for run in runs:
        cmap = _cmap(str(run.face.path), run.face.index)
        missing = [c for c in run.text if not c.isspace() and ord(c) not in cmap]
        assert not missing, f"{run.face.name} lacks {missing}"
    assert chain.missing(text) == set()


@pytest.mark.parametrize(
    ("language", "font"),
    [
        ("ja", "NotoSansCJK-Regular.ttc#0"),
        ("zh", "NotoSansCJK-Regular.ttc#2"),
        ("ko", "NotoSansCJK-Regular.ttc#1"),
        ("ar", "NotoSansArabic-Regular.ttf"),
        ("he", "NotoSansHebrew-Regular.ttf"),
        ("hi", "NotoSansDevanagari-Regular.ttf"),
        ("ru", "NotoSans-Regular.ttf"),
        ("el", "NotoSans-Regular.ttf"),
    ],
)
def test_each_script_gets_its_own_noto_font(language, font):
    letters = [c for c in SAMPLES[language] if c.isalpha()]
    runs = chain_for(language).runs("".join(letters))

    assert runs[0].face.name == font


def test_latin_inside_arabic_switches_to_the_latin_font_and_back():
    runs = chain_for("ar").runs("قال Tomas مرحبا")

    assert [run.face.name for run in runs] == [
        "NotoSansArabic-Regular.ttf",
        "NotoSans-Regular.ttf",
        "NotoSansArabic-Regular.ttf",
    ]


def test_a_character_no_script_font_has_falls_back_to_a_symbol_font():
    text = "Mira ♞ ☂"
    runs = chain_for("en").runs(text)

    assert "".join(run.text for run in runs) == text
    assert {run.face.name for run in runs if "♞" in run.text} != {"NotoSans-Regular.ttf"}


def test_words_are_never_broken():
    text = "The sky turned the colour of pewter as the storm rolled in from the far west."
    chain = chain_for("en")

    for width in (120, 200, 330):
        lines = wrap(text, chain, 18, width, rtl=False)
        assert lines is not None
        assert all(line.width <= width for line in lines.lines)
        words = [word for line in lines.lines for word in line.text.split()]
        assert words == text.split()


def test_japanese_breaks_between_characters_with_kinsoku():
    text = "ミラは灯台の階段を登った。「今すぐ灯をともそう」と彼女は言った。"
    lines = wrap(text, chain_for("ja"), 20, 130, rtl=False)

    assert lines is not None and len(lines.lines) > 2
    assert "".join(line.text for line in lines.lines) == text
    for line in lines.lines:
        assert line.text[0] not in "。、」』"  # no line starts with closing punctuation
        assert line.text[-1] not in "「『"  # and none ends with an opening one
        assert line.width <= 130


def test_tokens_keep_words_whole_and_split_cjk():
    assert tokens("Hold on, Mira!") == ["Hold ", "on, ", "Mira!"]
    assert tokens("灯台。「早く」") == ["灯", "台。", "「早", "く」"]


def test_narration_containing_the_caption_is_lettered_once():
    blocks = blocks_of("Dawn.", "Dawn. The storm broke.", [])
    assert blocks == [Block("caption", "Dawn. The storm broke.")]
    blocks = blocks_of("Dawn.", "The storm broke.", [DialogueLine("Mira", "Look!", "left")])
    assert [b.kind for b in blocks] == ["caption", "narration", "bubble"]
    assert blocks[2].side == "left"


def _placed_text(blocks, width, height, language):
    placed, overflow, size = lay_out(blocks, width, height, chain_for(language), language)
    return placed, overflow, size


def test_everything_is_lettered_over_the_image_when_it_fits():
    image = Image.new("RGB", (768, 512), (90, 140, 190))
    panel = PanelText(
        caption="Dawn at the lighthouse.",
        narration="",
        dialogue=[
            DialogueLine("Mira", "Tomas, the lamp!", "left"),
            DialogueLine("Tomas", "Oil!", "right"),
        ],
    )
    blocks = blocks_of(panel.caption, panel.narration, panel.dialogue)

    placed, overflow, _ = _placed_text(blocks, 768, 512, "en")
    lettered = letter_panel(image, panel, language="en")

    assert overflow == [] and len(placed) == 3
    assert lettered.size == (768, 512)
    assert lettered.tobytes() != image.tobytes()
    # The left speaker's bubble is left of the right speaker's.
    boxes = {p.block.speaker: p.box for p in placed if p.block.kind == "bubble"}
    assert boxes["Mira"][0] < boxes["Tomas"][0]


def test_too_much_text_continues_below_the_image_and_nothing_is_cut():
    story = " ".join(
        f"Sentence number {n} tells a little more of the long story." for n in range(120)
    )
    image = Image.new("RGB", (768, 512), (90, 140, 190))
    panel = PanelText(
        caption="", narration=story, dialogue=[DialogueLine("Mira", story[:300], "left")]
    )

    blocks = blocks_of(panel.caption, panel.narration, panel.dialogue)
    placed, overflow, size = _placed_text(blocks, 768, 512, "en")
    lettered = letter_panel(image, panel, language="en")

    assert overflow, "the rest goes to the strip"
    assert lettered.width == 768 and lettered.height > 512
    assert size >= 11  # never smaller than the legible minimum over the image
    words = [w for p in placed for line in p.body.lines for w in line.text.split()]
    assert words + [w for b in overflow for w in b.text.split()] == [
        w for b in blocks for w in b.text.split()
    ]
    assert "\u2026" not in "".join(b.text for b in overflow)


@pytest.mark.parametrize("language", ["ja", "ar", "he", "hi", "ru"])
def test_other_scripts_letter_without_error(language):
    text = SAMPLES[language]
    lettered = letter_panel(
        Image.new("RGB", (512, 512), (200, 200, 200)),
        PanelText(caption=text, dialogue=[DialogueLine("x", text, "right")]),
        language=language,
    )
    assert lettered.width == 512


def test_right_to_left_text_is_set_right_to_left():
    chain = chain_for("ar")
    lines = wrap("قال توماس Tomas", chain, 18, 400, rtl=True)

    assert lines is not None and lines.rtl
    # Visual order: the Latin run, which comes last in reading order, is drawn leftmost.
    assert lines.lines[0].runs[0].text.strip() == "Tomas"
    assert re.search("[\u0600-\u06ff]", lines.lines[0].runs[-1].text)
