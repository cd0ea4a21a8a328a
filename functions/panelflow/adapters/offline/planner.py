"""A rule-based story planner: paragraphs and sentences become panels, names become characters.

The rules live in ``panelflow.adapters.offline.plan``: the vocabulary, sentences, the cast
and panels.
"""

from __future__ import annotations

from panelflow.adapters.offline.plan.cast import Cast, describe, find_characters
from panelflow.adapters.offline.plan.panels import group_sentences, plan_panel
from panelflow.adapters.offline.plan.sentences import normalise, split_sentences, split_title
from panelflow.adapters.offline.plan.vocabulary import LETTER_RE
from panelflow.domain.errors import PlanningFailed, TranslationUnavailable
from panelflow.domain.models import PanelPlan, StoryPlan
from panelflow.domain.translation import TRANSLATION_NEEDS


class RuleBasedStoryPlanner:
    """Plans a story with text rules alone: deterministic, offline and fast.

    Panels come from paragraphs, then sentences; characters from the speakers of quoted
    speech and from capitalised names that recur; each character gets a look and a voice
    hint derived from a hash of the name, so a re-plan draws the same people.
    """

    def translate(self, plan: StoryPlan, *, source_language: str, language: str) -> StoryPlan:
        """Text rules cannot translate: always refuses, with the reason."""
        raise TranslationUnavailable(TRANSLATION_NEEDS)

    def plan(self, story: str, *, panels: int, style: str, language: str) -> StoryPlan:
        """Returns ``panels`` panels, or one per sentence when the story has fewer sentences."""
        text = normalise(story)
        if not LETTER_RE.search(text):
            raise PlanningFailed(
                "The story has no words in it: write a few sentences for the comic to tell."
            )
        title, body = split_title(text)
        sentences = split_sentences(body)
        if not sentences:
            # Only a title: it is the whole story.
            sentences = split_sentences(title)
        names = find_characters(sentences)
        characters = tuple(describe(name, names, sentences) for name in names)
        cast = Cast(names, {character.name: character.voice for character in characters})
        groups = group_sentences(sentences, max(1, int(panels)))
        plans: list[PanelPlan] = []
        setting: tuple[list[str], list[str]] = ([], [])
        for index, group in enumerate(groups):
            plan, setting = plan_panel(index, group, cast, style or "storybook", setting)
            plans.append(plan)
        return StoryPlan(title=title, characters=characters, panels=tuple(plans))
