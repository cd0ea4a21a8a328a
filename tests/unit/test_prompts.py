"""Prompt assembly for the Google providers: style, character bible, scene, continuity, bubbles."""

from __future__ import annotations

from panelflow.adapters import prompts
from panelflow.domain.models import Character, DialogueLine, PanelPlan

MIRA = Character(name="Mira", description="tall woman, red raincoat, silver braid", voice="female")
TOMAS = Character(name="Tomas", description="old fisherman, grey beard, yellow oilskin")


def _panel(index: int = 1, **changes: object) -> PanelPlan:
    values: dict[str, object] = {
        "index": index,
        "scene": "The lighthouse gallery at night in a storm.",
        "caption": "The storm arrives.",
        "narration": "Rain lashed the glass.",
        "dialogue": (DialogueLine("Mira", "Light it now!"), DialogueLine("Tomas", "Hold on.")),
        "characters": ("Mira", "Tomas"),
        "image_prompt": "Mira grips the rail while Tomas climbs the last steps, wide shot.",
    }
    values.update(changes)
    return PanelPlan(**values)  # type: ignore[arg-type]


def test_every_style_has_a_description_used_word_for_word_by_sheets_and_panels() -> None:
    for style in ("storybook", "manga", "noir", "watercolor", "pop-art"):
        description = prompts.style_description(style)
        assert len(description) > 40
        assert description in prompts.character_sheet_prompt(MIRA, style=style)
        assert description in prompts.panel_prompt(_panel(), style=style, characters=[MIRA])


def test_an_unknown_style_is_named_rather_than_dropped() -> None:
    assert "cubism" in prompts.style_description("cubism")


def test_character_bible_lists_each_character_with_its_look() -> None:
    bible = prompts.character_bible([MIRA, TOMAS])
    assert bible.splitlines() == [
        "- Mira: tall woman, red raincoat, silver braid",
        "- Tomas: old fisherman, grey beard, yellow oilskin",
    ]
    assert prompts.character_bible([Character("Nobody", "  ")]) == "- Nobody: as in the reference"


def test_character_sheet_shows_one_character_without_text() -> None:
    prompt = prompts.character_sheet_prompt(MIRA, style="noir")
    assert "Mira. tall woman, red raincoat, silver braid" in prompt
    assert "No text" in prompt and "other characters" in prompt


def test_panel_prompt_carries_scene_cast_references_and_speaker_sides_but_no_text() -> None:
    panel = _panel(
        dialogue=(
            DialogueLine("Mira", "Light it now!", "left"),
            DialogueLine("Tomas", "Hold on.", "right"),
            DialogueLine("Mira", "Now!", "left"),
        )
    )
    prompt = prompts.panel_prompt(
        panel, style="manga", characters=[MIRA, TOMAS], references=["Mira", "Tomas"]
    )
    assert "Scene: Mira grips the rail while Tomas climbs the last steps, wide shot." in prompt
    assert "Setting: The lighthouse gallery at night in a storm." in prompt
    assert "- Mira: tall woman, red raincoat, silver braid" in prompt
    assert "- Tomas: old fisherman, grey beard, yellow oilskin" in prompt
    assert "Reference sheets follow for Mira, Tomas" in prompt
    assert "Speakers: Mira on the left; Tomas on the right." in prompt
    # Lettering is Panelflow's own layer: no caption, bubble text or narration in the prompt.
    assert prompts.NO_TEXT in prompt
    assert "The storm arrives." not in prompt
    assert "Light it now!" not in prompt and "Hold on." not in prompt
    assert "Rain lashed the glass." not in prompt


def test_panel_prompt_without_image_prompt_uses_the_scene_once() -> None:
    prompt = prompts.panel_prompt(_panel(image_prompt=""), style="noir", characters=[])
    assert prompt.count("The lighthouse gallery at night in a storm.") == 1
    assert "Characters" not in prompt and "Reference sheets" not in prompt


def test_continuity_comes_from_the_previous_panel_only() -> None:
    previous = _panel(0, scene="Mira climbs the spiral stairs by candlelight.")
    prompt = prompts.panel_prompt(
        _panel(1), style="storybook", characters=[MIRA], previous=previous
    )
    assert "previous panel showed: Mira climbs the spiral stairs by candlelight." in prompt
    assert "Keep the same place, lighting, weather and clothing" in prompt
    first = prompts.panel_prompt(_panel(0), style="storybook", characters=[MIRA])
    assert "previous panel" not in first
    assert prompts.continuity(None) == ""
    assert prompts.continuity(_panel(0, scene="", caption="")) == ""


def test_placement_names_each_speaker_once_and_skips_silence() -> None:
    assert prompts.placement(()) == ""
    assert prompts.placement((DialogueLine("Mira", "   ", "left"),)) == ""
    text = prompts.placement(
        (DialogueLine("Mira", "Hi.", "right"), DialogueLine("Ana", "Yes.", "center"))
    )
    assert text.startswith("Speakers: Mira on the right; Ana in the centre.")


def test_planner_instructions_name_count_language_and_style() -> None:
    text = prompts.planner_instructions(panels=7, style="noir", language="fr")
    assert "exactly 7 panels" in text
    assert "caption, narration and dialogue in French" in text
    assert prompts.style_description("noir") in text
    assert "exactly 1 panel " in prompts.planner_instructions(
        panels=1, style="manga", language="ja"
    )
    assert "in Japanese" in prompts.planner_instructions(panels=1, style="manga", language="ja")


def test_story_request_fences_the_story_and_correction_names_the_problem() -> None:
    assert prompts.story_request("Once.") == "Story:\n<<<\nOnce.\n>>>"
    correction = prompts.plan_correction("panels.0.caption: Field required.", panels=4)
    assert "panels.0.caption: Field required." in correction
    assert "exactly 4 panels" in correction


def test_soften_keeps_the_request_and_adds_a_family_friendly_frame() -> None:
    original = prompts.panel_prompt(_panel(), style="noir", characters=[MIRA])
    softened = prompts.soften(original)
    assert softened.endswith(original)
    assert softened.startswith(prompts.SOFTENING)
    assert "family-friendly" in softened
