"""Translating a finished comic: only its words change, so every image is reused.

A translator (``StoryPlanner.translate``) returns the comic's words in another language; its
reply is trusted for words only. Everything that shapes a picture or a voice (scenes, image
prompts, characters, who speaks and where they stand) is taken from the source, so a reply
that drifted cannot change what is drawn.
"""

from __future__ import annotations

from dataclasses import replace

from panelflow.domain import plan_limits
from panelflow.domain.errors import PlanningFailed
from panelflow.domain.models import JobStatus, StoryPlan

# Only a language model can translate a comic's words; the offline planner has none.
TRANSLATION_NEEDS = "translation needs the Google planner (PANELFLOW_PLANNER=google)"
# Only a comic whose every panel has its image can be translated without drawing anything.
TRANSLATABLE = (JobStatus.COMPLETED,)


def mismatch(source: StoryPlan, translated: StoryPlan) -> str:
    """Why ``translated`` does not fit ``source`` ("" when it does): the same panels, and in
    each the same number of dialogue lines by the same speakers."""
    if len(translated.panels) != len(source.panels):
        return (
            f"the reply has {len(translated.panels)} panels instead of exactly "
            f"{len(source.panels)}."
        )
    for number, (original, words) in enumerate(
        zip(source.panels, translated.panels, strict=True), 1
    ):
        speakers = [line.speaker for line in original.dialogue]
        if [line.speaker for line in words.dialogue] != speakers:
            return (
                f"panel {number} must have {len(speakers)} dialogue lines by "
                f"{', '.join(speakers) or 'nobody'}, in that order, with the names unchanged."
            )
    return ""


def merged(source: StoryPlan, translated: StoryPlan, *, spoken_bytes: int) -> StoryPlan:
    """The source plan with the translated words, within the plan limits.

    Raises:
        PlanningFailed: the translation does not fit the source (see ``mismatch``).
    """
    problem = mismatch(source, translated)
    if problem:
        raise PlanningFailed(f"The translation did not fit the comic: {problem}")
    panels = tuple(
        replace(
            original,
            caption=words.caption.strip(),
            narration=words.narration.strip(),
            dialogue=tuple(
                replace(line, text=new.text.strip())
                for line, new in zip(original.dialogue, words.dialogue, strict=True)
            ),
        )
        for original, words in zip(source.panels, translated.panels, strict=True)
    )
    plan = StoryPlan(
        title=translated.title.strip() or source.title, characters=source.characters, panels=panels
    )
    return plan_limits.clamp(plan, spoken_bytes=spoken_bytes)
