"""The story planner: one structured-output call to a Gemini text model, re-asked once."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal, TypeVar

from google import genai
from google.genai import types
from pydantic import BaseModel, Field, ValidationError

from panelflow.adapters import prompts
from panelflow.adapters.gemini.client import Call, RetryPolicy, generate, token_units
from panelflow.adapters.gemini.replies import finish_reason, refusal
from panelflow.domain import costs, plan_limits, translation
from panelflow.domain.errors import PlanningFailed
from panelflow.domain.models import Character, DialogueLine, PanelPlan, StoryPlan
from panelflow.domain.provider_models import DEFAULT_PLANNER_MODEL

logger = logging.getLogger(__name__)

# Enough for a 24-panel plan within the limits of plan_limits, with room for thinking.
DEFAULT_MAX_OUTPUT_TOKENS = 16_384
MODEL_VARIABLE = "PANELFLOW_PLANNER_MODEL"


def _limit(**schema: Any) -> Any:
    """A limit the model is told (in the JSON schema) but that parsing does not enforce: an
    over-long reply is clamped afterwards (plan_limits), not thrown away and paid again."""
    return Field(json_schema_extra=schema)


class PlannedCharacter(BaseModel):
    name: str = _limit(maxLength=plan_limits.NAME_CHARS)
    visual_description: str = _limit(maxLength=plan_limits.CHARACTER_DESCRIPTION_CHARS)
    voice: Literal["female", "male", "neutral"]


class PlannedLine(BaseModel):
    speaker: str = _limit(maxLength=plan_limits.NAME_CHARS)
    text: str = _limit(maxLength=plan_limits.DIALOGUE_LINE_CHARS)
    # Where the speaker stands in the picture; older replies without it stand in the center.
    side: Literal["left", "right", "center"] = "center"


class PlannedPanel(BaseModel):
    scene: str = _limit(maxLength=plan_limits.SCENE_CHARS)
    characters: list[str] = _limit(maxItems=plan_limits.MAX_CHARACTERS)
    caption: str = _limit(maxLength=plan_limits.CAPTION_CHARS)
    narration: str = _limit(maxLength=plan_limits.NARRATION_CHARS)
    dialogue: list[PlannedLine] = _limit(maxItems=plan_limits.DIALOGUE_LINES)
    image_prompt: str = _limit(maxLength=plan_limits.IMAGE_PROMPT_CHARS)


# The response schema: docstrings would be sent to the model as descriptions, so there are
# none; field order is the order the model writes the fields in.
class PlannedStory(BaseModel):
    title: str = _limit(maxLength=plan_limits.TITLE_CHARS)
    characters: list[PlannedCharacter] = _limit(maxItems=plan_limits.MAX_CHARACTERS)
    panels: list[PlannedPanel]


class TranslatedLine(BaseModel):
    speaker: str
    text: str = _limit(maxLength=plan_limits.DIALOGUE_LINE_CHARS)


class TranslatedPanel(BaseModel):
    caption: str = _limit(maxLength=plan_limits.CAPTION_CHARS)
    narration: str = _limit(maxLength=plan_limits.NARRATION_CHARS)
    dialogue: list[TranslatedLine] = _limit(maxItems=plan_limits.DIALOGUE_LINES)


# The translation's schema, and the shape the comic's words are sent in.
class TranslatedStory(BaseModel):
    title: str = _limit(maxLength=plan_limits.TITLE_CHARS)
    panels: list[TranslatedPanel]


class GeminiStoryPlanner:
    """Plans a story with one structured-output call, and one corrective re-ask if needed.

    Re-asked once: a reply that does not fit the schema (named precisely), an empty reply
    (finish reason STOP and no text: sent again without an empty model turn, which the API
    refuses), a RECITATION stop (asked to use its own words), or a different panel count. If
    the second reply still has too many panels the plan is cut to the requested count, if it
    has fewer the shorter plan is kept (the port allows fewer where the story does not
    stretch that far). Output is capped by ``max_output_tokens``.
    """

    def __init__(
        self,
        client: genai.Client,
        *,
        model: str = DEFAULT_PLANNER_MODEL,
        temperature: float = 0.8,
        max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._model = model
        self._temperature = temperature
        self._max_output_tokens = max_output_tokens
        self._retry = retry or RetryPolicy()

    def plan(self, story: str, *, panels: int, style: str, language: str) -> StoryPlan:
        """Returns the plan; see the StoryPlanner port."""
        config = types.GenerateContentConfig(
            system_instruction=prompts.planner_instructions(
                panels=panels, style=style, language=language
            ),
            response_mime_type="application/json",
            response_schema=PlannedStory,
            temperature=self._temperature,
            max_output_tokens=self._max_output_tokens,
        )
        request = types.Part(text=prompts.story_request(story))
        contents = [types.Content(role="user", parts=[request])]
        usable: PlannedStory | None = None
        problem = ""
        call = Call("Planning the story", self._model, MODEL_VARIABLE, "plan")
        for attempt in range(2):
            response = generate(
                self._client, call, contents=contents, config=config, policy=self._retry
            )
            reason = finish_reason(response)
            parsed, problem = _read_plan(response, panels)
            costs.record(
                costs.PaidCall(
                    kind="plan",
                    provider="google",
                    model=self._model,
                    units=token_units(response),
                    outcome="ok" if parsed is not None and not problem else "unusable",
                )
            )
            declined = refusal(response)
            if reason == "RECITATION":
                problem = "it repeated existing text too closely; tell the story in your own words."
            elif declined:
                raise PlanningFailed(f"The story planner declined this story: {declined}.")
            elif parsed is not None:
                if not problem:
                    return _to_domain(parsed, story, panels)
                usable = usable or parsed
            if attempt == 0:
                logger.info("story plan did not fit, asking again: %s", problem)
                contents = _reask(contents, request, response, problem, panels)
        if usable is not None:
            # Right shape, wrong panel count twice: trim or keep the shorter plan.
            return _to_domain(usable, story, panels)
        raise PlanningFailed(
            f"The story planner's reply did not fit the plan format, twice: {problem}"
        )

    def translate(self, plan: StoryPlan, *, source_language: str, language: str) -> StoryPlan:
        """Returns the plan's words in ``language``; see the StoryPlanner port.

        One structured-output call; re-asked once when the reply does not fit the schema or
        the comic (panels, lines and speakers, ``domain.translation.mismatch``).
        """
        config = types.GenerateContentConfig(
            system_instruction=prompts.translator_instructions(
                source_language=source_language, language=language
            ),
            response_mime_type="application/json",
            response_schema=TranslatedStory,
            # Faithful rather than creative.
            temperature=0.2,
            max_output_tokens=self._max_output_tokens,
        )
        words = TranslatedStory(
            title=plan.title,
            panels=[
                TranslatedPanel(
                    caption=panel.caption,
                    narration=panel.narration,
                    dialogue=[
                        TranslatedLine(speaker=line.speaker, text=line.text)
                        for line in panel.dialogue
                    ],
                )
                for panel in plan.panels
            ],
        )
        request = types.Part(text=prompts.translation_request(words.model_dump_json()))
        contents = [types.Content(role="user", parts=[request])]
        call = Call("Translating the comic", self._model, MODEL_VARIABLE, "translate")
        problem = ""
        for attempt in range(2):
            response = generate(
                self._client, call, contents=contents, config=config, policy=self._retry
            )
            translated, problem = _read_translation(response, plan)
            costs.record(
                costs.PaidCall(
                    kind="translate",
                    provider="google",
                    model=self._model,
                    units=token_units(response),
                    outcome="ok" if translated is not None else "unusable",
                )
            )
            declined = refusal(response)
            if declined:
                raise PlanningFailed(f"The translator declined this comic: {declined}.")
            if translated is not None:
                return translated
            if attempt == 0:
                logger.info("translation did not fit, asking again: %s", problem)
                correction = types.Part(text=prompts.translation_correction(problem))
                contents = [types.Content(role="user", parts=[request, correction])]
        raise PlanningFailed(f"The translation did not fit the comic, twice: {problem}")


def _read_translation(
    response: types.GenerateContentResponse, plan: StoryPlan
) -> tuple[StoryPlan | None, str]:
    """(the translated plan if it fits ``plan``, else the problem to report)."""
    parsed, problem = _parsed(response, TranslatedStory)
    if parsed is None:
        return None, problem
    translated = StoryPlan(
        title=parsed.title,
        characters=plan.characters,
        panels=tuple(
            replace(
                panel,
                caption=words.caption,
                narration=words.narration,
                dialogue=tuple(
                    DialogueLine(speaker=line.speaker, text=line.text) for line in words.dialogue
                ),
            )
            for panel, words in zip(plan.panels, parsed.panels, strict=False)
        ),
    )
    # translation.mismatch also names a reply with the wrong number of panels.
    problem = translation.mismatch(plan, translated)
    return (None, problem) if problem else (translated, "")


def _reask(
    contents: list[types.Content],
    request: types.Part,
    response: types.GenerateContentResponse,
    problem: str,
    panels: int,
) -> list[types.Content]:
    """The conversation for the second try. A reply with text is quoted back as the model's
    turn; an empty one is not (an empty text part is refused with 400 INVALID_ARGUMENT), and
    the correction then joins the story in the one user turn."""
    correction = types.Part(text=prompts.plan_correction(problem, panels=panels))
    text = (response.text or "").strip() if finish_reason(response) != "RECITATION" else ""
    if not text:
        return [types.Content(role="user", parts=[request, correction])]
    return [
        *contents,
        types.Content(role="model", parts=[types.Part(text=text)]),
        types.Content(role="user", parts=[correction]),
    ]


Reply = TypeVar("Reply", bound=BaseModel)


def _parsed(
    response: types.GenerateContentResponse, model: type[Reply]
) -> tuple[Reply | None, str]:
    """The reply's structured output as ``model``, or why it is not one."""
    if isinstance(response.parsed, model):
        return response.parsed, ""
    text = response.text or ""
    if not text.strip():
        return None, f"the reply was empty (finish reason {finish_reason(response)})."
    try:
        # The SDK hides why parsing failed (parsed is None); validating again tells us.
        return model.model_validate_json(text), ""
    except ValidationError as error:
        return None, _describe(error)


def _read_plan(
    response: types.GenerateContentResponse, panels: int
) -> tuple[PlannedStory | None, str]:
    """(the plan if its shape is usable, the problem to report or "")."""
    parsed, problem = _parsed(response, PlannedStory)
    if parsed is None:
        return None, problem
    if not parsed.panels:
        return None, "the plan has no panels."
    empty = [
        number
        for number, panel in enumerate(parsed.panels, 1)
        if not (panel.scene.strip() or panel.image_prompt.strip())
    ]
    if empty:
        return None, f"panels {', '.join(map(str, empty))} have neither scene nor image_prompt."
    if len(parsed.panels) != panels:
        return parsed, f"the plan has {len(parsed.panels)} panels instead of exactly {panels}."
    return parsed, ""


def _describe(error: ValidationError) -> str:
    """A short, precise account of what did not fit, for the model and for people."""
    problems = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "the reply"
        problems.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    return "; ".join(problems) + suffix + "."


def _to_domain(parsed: PlannedStory, story: str, panels: int) -> StoryPlan:
    characters: dict[str, Character] = {}
    for planned in parsed.characters:
        name = " ".join(planned.name.split())
        if (
            name
            and name.casefold() not in characters
            and len(characters) < plan_limits.MAX_CHARACTERS
        ):
            characters[name.casefold()] = Character(
                name=name,
                description=" ".join(planned.visual_description.split()),
                voice=planned.voice,
            )

    def known(name: str) -> str | None:
        found = characters.get(" ".join(name.split()).casefold())
        return found.name if found else None

    plans = []
    for index, panel in enumerate(parsed.panels[:panels]):
        dialogue = tuple(
            DialogueLine(
                speaker=known(line.speaker) or line.speaker.strip(),
                text=line.text.strip(),
                side=line.side,
            )
            for line in panel.dialogue
            if line.text.strip()
        )
        present: list[str] = []
        for name in [*panel.characters, *(line.speaker for line in dialogue)]:
            canonical = known(name)
            if canonical and canonical not in present:
                present.append(canonical)
        plans.append(
            PanelPlan(
                index=index,
                scene=panel.scene.strip() or panel.image_prompt.strip(),
                caption=panel.caption.strip(),
                narration=panel.narration.strip(),
                dialogue=dialogue,
                characters=tuple(present),
                image_prompt=panel.image_prompt.strip(),
            )
        )
    title = plan_limits.shorten(parsed.title, plan_limits.TITLE_CHARS) or " ".join(
        story.split()[:6]
    )
    return plan_limits.clamp(
        StoryPlan(title=title, characters=tuple(characters.values()), panels=tuple(plans))
    )
