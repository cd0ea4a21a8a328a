"""Grouping sentences into panels, and each panel's scene, caption, narration, dialogue."""

from __future__ import annotations

import re

from panelflow.adapters.offline.plan.cast import Cast, find_speaker, in_order, names_mentioned
from panelflow.adapters.offline.plan.sentences import Sentence, speech_text, without_quotes
from panelflow.adapters.offline.plan.vocabulary import (
    CAPTION_CHARS,
    FALLBACK_SPEAKER,
    NARRATION_CHARS,
    PLACE_WORDS,
    SCENE_CHARS,
    SETTING_RE,
    TIME_WORDS,
)
from panelflow.domain.models import DialogueLine, PanelPlan
from panelflow.domain.plan_limits import shorten


def group_sentences(sentences: list[Sentence], panels: int) -> list[list[Sentence]]:
    """Cuts the sentences into ``panels`` runs of similar length, preferring paragraph ends."""
    if len(sentences) <= panels:
        return [[sentence] for sentence in sentences]
    paragraphs: list[list[Sentence]] = []
    for sentence in sentences:
        if paragraphs and paragraphs[-1][-1].paragraph == sentence.paragraph:
            paragraphs[-1].append(sentence)
        else:
            paragraphs.append([sentence])
    # Enough paragraphs: merge whole paragraphs; too few: cut inside them, at sentence ends.
    units = paragraphs if len(paragraphs) >= panels else [[sentence] for sentence in sentences]
    count = len(units)
    ends = []  # ends[g]: characters up to the end of unit g
    running = 0
    for unit in units:
        running += sum(len(sentence.text) + 1 for sentence in unit)
        ends.append(running)
    share = running / panels
    cuts: list[int] = []
    previous = -1
    for number in range(1, panels):
        ideal = number * share
        best, best_score = previous + 1, float("inf")
        # Leave at least one unit for each of the panels still to come.
        for gap in range(previous + 1, count - (panels - number)):
            score = abs(ends[gap] - ideal) / share
            if units[gap][-1].paragraph != units[gap + 1][0].paragraph:
                score -= 0.35
            if score < best_score:
                best, best_score = gap, score
        cuts.append(best)
        previous = best
    groups: list[list[Sentence]] = []
    start = 0
    for cut in [*cuts, count - 1]:
        groups.append([sentence for unit in units[start : cut + 1] for sentence in unit])
        start = cut + 1
    return groups


def plan_panel(
    index: int,
    group: list[Sentence],
    cast: Cast,
    style: str,
    setting: tuple[list[str], list[str]],
) -> tuple[PanelPlan, tuple[list[str], list[str]]]:
    full_text = " ".join(sentence.text for sentence in group)
    mentions = names_mentioned(full_text, cast.names)
    dialogue: list[DialogueLine] = []
    narrative: list[str] = []
    offset = 0
    previous_speaker: str | None = None
    previous_paragraph = group[0].paragraph
    for sentence in group:
        if sentence.paragraph != previous_paragraph:
            previous_speaker = None
            previous_paragraph = sentence.paragraph
        text = sentence.text
        for span in sentence.quotes:
            speech = speech_text(text[span[0] : span[1]])
            if not speech:
                continue
            speaker = find_speaker(text, span, offset, full_text, cast, mentions, previous_speaker)
            previous_speaker = speaker
            dialogue.append(DialogueLine(speaker=speaker, text=speech))
        remainder = without_quotes(text, sentence.quotes)
        if remainder:
            narrative.append(remainder)
        offset += len(text) + 1
    story_text = " ".join(narrative)
    speakers = [line.speaker for line in dialogue]
    characters = [name for name in in_order(mentions + speakers) if name in cast.names]
    cast.remember(full_text)
    # Only the narration sets the scene: "A storm is coming," is not a storm yet.
    words = _settings(story_text)
    places = [word for word in words if word in PLACE_WORDS][:2] or setting[0]
    times = [word for word in words if word in TIME_WORDS][:2] or setting[1]
    current = places + times
    scene = shorten(story_text, SCENE_CHARS)
    if not scene:
        people = [name for name in in_order(speakers) if name != FALLBACK_SPEAKER]
        people = people or [FALLBACK_SPEAKER]
        scene = f"{' and '.join(people[:3])} talking"
    missing = [word for word in current if not re.search(rf"\b{word}", scene, re.I)]
    if missing:
        scene = f"{scene.rstrip('.')}. Setting: {', '.join(missing)}."
    prompt = f"{style} comic panel: {scene}"
    if characters:
        prompt += f" Characters: {', '.join(characters)}."
    plan = PanelPlan(
        index=index,
        scene=scene,
        caption=shorten(story_text, CAPTION_CHARS),
        narration=shorten(story_text, NARRATION_CHARS),
        dialogue=tuple(dialogue),
        characters=tuple(characters),
        image_prompt=prompt,
    )
    return plan, (places, times)


def _settings(text: str) -> list[str]:
    return in_order(match.group(1).lower() for match in SETTING_RE.finditer(text))
