"""Fake providers that count their calls and fail on demand."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from panelflow.domain.models import (
    Character,
    DialogueLine,
    PanelPlan,
    PanelRequest,
    RenderedImage,
    SpeechLine,
    StoryPlan,
    SynthesizedAudio,
)

Failure = Callable[[str], Exception | None]


class _Counting:
    def __init__(self, fail: Failure | None = None) -> None:
        self.calls: list[str] = []
        self._fail = fail
        self._lock = threading.Lock()

    def _record(self, key: str) -> None:
        with self._lock:
            self.calls.append(key)
        error = self._fail(key) if self._fail else None
        if error is not None:
            raise error


def simple_plan(
    panels: int,
    title: str,
    characters: tuple[Character, ...],
    *,
    line: Callable[[int], str],
    prompt: Callable[[int], str],
) -> StoryPlan:
    """``panels`` panels, each with a caption, a narration and one line of Ada's."""
    return StoryPlan(
        title=title,
        characters=characters,
        panels=tuple(
            PanelPlan(
                index=index,
                scene=f"scene {index}",
                caption=f"caption {index}",
                narration=f"narration {index}",
                dialogue=(DialogueLine(speaker="Ada", text=line(index)),),
                characters=("Ada",),
                image_prompt=prompt(index),
            )
            for index in range(panels)
        ),
    )


class CountingPlanner(_Counting):
    """One panel per requested count, two characters, a line of dialogue per panel."""

    def plan(self, story: str, *, panels: int, style: str, language: str) -> StoryPlan:
        self._record(story[:20])
        characters = (
            Character(name="Ada", description="red coat", voice="female"),
            Character(name="Bo", description="blue cap", voice="male"),
        )
        return simple_plan(
            panels,
            story.split(".")[0][:40],
            characters,
            line=lambda index: f"line {index}",
            prompt=lambda index: f"{style} scene {index}",
        )

    def translate(self, plan: StoryPlan, *, source_language: str, language: str) -> StoryPlan:
        """The words marked with the language (``[fr] ...``), panel for panel."""
        self._record(f"translate:{language}")

        def marked(text: str) -> str:
            return f"[{language}] {text}" if text else ""

        return replace(
            plan,
            title=marked(plan.title),
            panels=tuple(
                replace(
                    panel,
                    caption=marked(panel.caption),
                    narration=marked(panel.narration),
                    dialogue=tuple(
                        replace(line, text=marked(line.text)) for line in panel.dialogue
                    ),
                )
                for panel in plan.panels
            ),
        )


class CountingImageGenerator(_Counting):
    def __init__(self, fail: Failure | None = None) -> None:
        super().__init__(fail)
        self.references_seen: list[dict[str, bytes]] = []

    def character_sheet(self, character: Character, *, style: str) -> RenderedImage:
        self._record(f"sheet:{character.name}")
        return RenderedImage(data=f"sheet {character.name}".encode(), width=10, height=10)

    def panel(self, request: PanelRequest) -> RenderedImage:
        index = request.panel.index
        self._record(f"panel:{index}")
        with self._lock:
            self.references_seen.append(dict(request.references))
        return RenderedImage(data=f"image {index} {request.style}".encode(), width=8, height=6)


class CountingVoice(_Counting):
    def synthesize(self, lines: Sequence[SpeechLine], *, language: str) -> SynthesizedAudio:
        self._record(lines[0].text if lines else "")
        text = " ".join(line.text for line in lines)
        return SynthesizedAudio(
            data=text.encode(), content_type="audio/mpeg", duration_ms=len(text) * 60
        )


class InflatingPlanner(_Counting):
    """A planner that ignores every limit, like a story written to inflate its plan: too many
    characters, panels and dialogue lines, and far too much text everywhere."""

    def plan(self, story: str, *, panels: int, style: str, language: str) -> StoryPlan:
        self._record(story[:20])
        long = "and then it went on " * 400  # 8,000 characters
        characters = tuple(
            Character(name=f"Person {n} {long[:200]}", description=long, voice="female")
            for n in range(30)
        )
        return StoryPlan(
            title=long,
            characters=characters,
            panels=tuple(
                PanelPlan(
                    index=index,
                    scene=long,
                    caption=long,
                    narration=long,
                    dialogue=tuple(
                        DialogueLine(speaker=characters[n].name, text=long) for n in range(20)
                    ),
                    characters=tuple(c.name for c in characters),
                    image_prompt=long,
                )
                for index in range(panels)
            ),
        )
