"""Grouping sentences into panels, and each panel's scene, caption, narration, dialogue."""

from __future__ import annotations

import re

from panelflow.adapters.offline.plan.cast import Cast, find_speaker, in_order, names_mentioned
from panelflow.adapters.offline.plan.sentences import Sentence, speech_text, without_quotes
from panelflow.adapters.offline.plan.vocabulary import (
    CAPTION_CHARS,
    FALLBACK_SPEAKER,
    NATIVE_TAG_AFTER,
    PLACE_WORDS,
    SCENE_CHARS,
    SETTING_RE,
    TIME_WORDS,
)
from panelflow.domain.models import DialogueLine, PanelPlan
from panelflow.domain.plan_limits import shorten, whole_sentences


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
    *,
    rtl: bool = False,
) -> tuple[PanelPlan, tuple[list[str], list[str]]]:
    """One panel from its sentences: every word of them lands in the narration (the parts
    outside quotes) or in a dialogue line (the quotes); the caption is the first whole
    sentences without speech in them."""
    full_text = " ".join(sentence.text for sentence in group)
    mentions = names_mentioned(full_text, cast.names)
    dialogue: list[DialogueLine] = []
    narrative: list[str] = []
    # Sentences with no speech in them: the caption is made of these, never of a speech tag
    # left behind by its quote ("Tomas said, tying the boat to the rusted ring.").
    plain: list[str] = []
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
        if sentence.quotes and _native_tag_only(remainder):
            remainder = ""
        if remainder:
            narrative.append(remainder)
            if not sentence.quotes:
                plain.append(remainder)
        offset += len(text) + 1
    story_text = join_sentences(narrative)
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
    # Only sentences without speech make a caption: what is left of a quoted one is its
    # tag ("Tomas said, tying the boat..."), a fragment. A panel of speech alone has its
    # words in the bubbles and the whole text in the narration, and no caption box.
    caption = whole_sentences(join_sentences(plain), CAPTION_CHARS)
    plan = PanelPlan(
        index=index,
        scene=scene,
        caption=caption,
        narration=story_text,
        dialogue=tuple(_sides(dialogue, rtl=rtl)),
        characters=tuple(characters),
        image_prompt=prompt,
    )
    return plan, (places, times)


def _settings(text: str) -> list[str]:
    return in_order(match.group(1).lower() for match in SETTING_RE.finditer(text))


def _sides(dialogue: list[DialogueLine], *, rtl: bool) -> list[DialogueLine]:
    """Where each speaker stands: the first to speak on the side reading starts from (left,
    or right in right-to-left languages), the second opposite, any others in the center."""
    first, second = ("right", "left") if rtl else ("left", "right")
    speakers = in_order(line.speaker for line in dialogue)
    if len(speakers) == 1:
        place = {speakers[0]: first}
    else:
        place = dict(zip(speakers, (first, second), strict=False))
    return [
        DialogueLine(speaker=line.speaker, text=line.text, side=place.get(line.speaker, "center"))
        for line in dialogue
    ]


def join_sentences(pieces: list[str]) -> str:
    """Sentences as one text: with spaces, except after a CJK full stop or closing quote."""
    text = ""
    for piece in pieces:
        if text and text[-1] not in "\u3002\uff01\uff1f\u300d\u300f":
            text += " "
        text += piece
    return text


def _native_tag_only(remainder: str) -> bool:
    """True for what is left of a sentence once its quote is out when it only says who spoke
    (と トマスは言った。, قال توماس.): a tag, not narration."""
    stripped = remainder.strip(" 、。,.!?؟،")
    for pattern in NATIVE_TAG_AFTER:
        match = pattern.match(stripped)
        if match and len(stripped) - match.end() <= 6:
            return True
    return False
