"""Gemini through google-genai: the story planner (structured output) and the image generator.

Both adapters take a ``genai.Client`` and keep a reference to it: an unreferenced client is
closed by its finalizer, even in the middle of a call. ``make_client`` builds one from
Settings with the SDK's in-call retries (408, 429, 5xx, timeouts) and a per-request timeout;
anything that still fails is translated by type into the core's errors.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any, Literal

from google import genai
from google.auth import exceptions as auth_errors
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel, ValidationError

from panelflow.adapters import prompts
from panelflow.domain.errors import (
    ConfigurationError,
    ContentBlocked,
    PanelflowError,
    PlanningFailed,
    ProviderError,
    TransientError,
)
from panelflow.domain.models import (
    Character,
    DialogueLine,
    PanelPlan,
    RenderedImage,
    StoryPlan,
)
from panelflow.settings import DEFAULT_IMAGE_MODEL, DEFAULT_PLANNER_MODEL, Settings

logger = logging.getLogger(__name__)

RETRYABLE_STATUS_CODES = (408, 429, 500, 502, 503, 504)
ASPECT_RATIO = "3:2"
MAX_CHARACTERS = 8
# Gemini image models follow a few reference images well; more dilutes them.
MAX_REFERENCES = 4
TITLE_CHARS = 80


def _transport_errors() -> dict[str, tuple[type[Exception], ...]]:
    """Exception classes of whichever HTTP stacks the SDK may use (httpx2, httpx, requests)."""
    import requests

    found: dict[str, list[type[Exception]]] = {
        "timeout": [requests.exceptions.Timeout],
        "transient": [requests.exceptions.ConnectionError],
        "any": [requests.exceptions.RequestException],
    }
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        found["timeout"].append(module.TimeoutException)
        found["transient"] += [module.NetworkError, module.RemoteProtocolError]
        found["any"].append(module.TransportError)
    return {kind: tuple(classes) for kind, classes in found.items()}


_TRANSPORT = _transport_errors()
_TIMEOUTS = _TRANSPORT["timeout"]
_TRANSIENT_TRANSPORT = _TRANSPORT["transient"]
_ANY_TRANSPORT = _TRANSPORT["any"]
# google.auth errors arise with Vertex AI, when Application Default Credentials are fetched.
_TRANSLATED: tuple[type[Exception], ...] = (
    genai_errors.APIError,
    auth_errors.GoogleAuthError,
    *_ANY_TRANSPORT,
)


def make_client(settings: Settings) -> genai.Client:
    """A client for the Gemini API (API key) or Vertex AI (ADC), with retries and a timeout."""
    retry = types.HttpRetryOptions(
        attempts=settings.gemini_attempts,
        initial_delay=settings.retry_initial_s,
        max_delay=settings.retry_max_s,
        exp_base=2.0,
        # Up to one initial delay of random spread, so a burst of 429s does not retry in step.
        jitter=settings.retry_initial_s,
        http_status_codes=list(RETRYABLE_STATUS_CODES),
    )
    http_options = types.HttpOptions(
        base_url=settings.gemini_base_url or None,
        api_version=settings.gemini_api_version or None,
        timeout=max(1, round(settings.gemini_timeout_s * 1000)),
        retry_options=retry,
    )
    if settings.gemini_vertex:
        return genai.Client(
            vertexai=True,
            project=settings.project_id,
            location=settings.gemini_location,
            http_options=http_options,
        )
    return genai.Client(vertexai=False, api_key=settings.gemini_api_key, http_options=http_options)


def translate_error(error: Exception, action: str) -> PanelflowError:
    """Maps an SDK or transport exception to the core's errors by type and status code."""
    if isinstance(error, genai_errors.APIError):
        code = error.code
        detail = f"{code} {error.status or ''}".strip()
        if code in RETRYABLE_STATUS_CODES or (
            isinstance(error, genai_errors.ServerError) and code != 501
        ):
            return TransientError(
                f"{action}: the Gemini API is busy or unavailable ({detail}); try again later"
            )
        if code in (401, 403):
            return ProviderError(
                f"{action}: the Gemini API refused the credentials ({detail}); check "
                "GEMINI_API_KEY or the Vertex AI service account's permissions"
            )
        if code == 404:
            return ProviderError(
                f"{action}: the Gemini model was not found ({detail}); check "
                "PANELFLOW_PLANNER_MODEL and PANELFLOW_IMAGE_MODEL"
            )
        message = " ".join(str(error.message or "").split())[:300]
        return ProviderError(f"{action}: the Gemini API rejected the request ({detail}): {message}")
    if isinstance(error, auth_errors.DefaultCredentialsError):
        return ConfigurationError(
            f"{action}: Vertex AI needs Application Default Credentials (a service account on "
            "Cloud Functions, or gcloud auth application-default login)",
            field="GOOGLE_GENAI_USE_VERTEXAI",
        )
    if isinstance(error, auth_errors.TransportError):
        return TransientError(f"{action}: the credentials service could not be reached")
    if isinstance(error, auth_errors.GoogleAuthError):
        return ProviderError(f"{action}: the Google credentials were refused ({error})")
    if isinstance(error, _TIMEOUTS):
        return TransientError(f"{action}: the Gemini API did not answer in time; try again later")
    if isinstance(error, _TRANSIENT_TRANSPORT):
        return TransientError(f"{action}: the Gemini API could not be reached; try again later")
    # Other transport failures (unsupported URL, TLS) do not heal by waiting.
    return ProviderError(f"{action}: the request to the Gemini API failed ({type(error).__name__})")


def _generate(
    client: genai.Client,
    action: str,
    *,
    model: str,
    contents: Any,
    config: types.GenerateContentConfig,
) -> types.GenerateContentResponse:
    try:
        return client.models.generate_content(model=model, contents=contents, config=config)
    except _TRANSLATED as error:
        raise translate_error(error, action) from error


# ---- the planner --------------------------------------------------------------------------


class PlannedCharacter(BaseModel):
    name: str
    visual_description: str
    voice: Literal["female", "male", "neutral"]


class PlannedLine(BaseModel):
    speaker: str
    text: str


class PlannedPanel(BaseModel):
    scene: str
    characters: list[str]
    caption: str
    narration: str
    dialogue: list[PlannedLine]
    image_prompt: str


# The response schema: docstrings would be sent to the model as descriptions, so there are
# none; field order is the order the model writes the fields in.
class PlannedStory(BaseModel):
    title: str
    characters: list[PlannedCharacter]
    panels: list[PlannedPanel]


class GeminiStoryPlanner:
    """Plans a story with one structured-output call, and one corrective re-ask if needed.

    Panel count: a reply with a different number of panels is re-asked once, naming the
    count; if the second reply still has too many panels the plan is cut to the requested
    count, if it has fewer the shorter plan is kept (the port allows fewer where the story
    does not stretch that far).
    """

    def __init__(
        self,
        client: genai.Client,
        *,
        model: str = DEFAULT_PLANNER_MODEL,
        temperature: float = 0.8,
    ) -> None:
        self._client = client
        self._model = model
        self._temperature = temperature

    def plan(self, story: str, *, panels: int, style: str, language: str) -> StoryPlan:
        """Returns the plan; see the StoryPlanner port."""
        config = types.GenerateContentConfig(
            system_instruction=prompts.planner_instructions(
                panels=panels, style=style, language=language
            ),
            response_mime_type="application/json",
            response_schema=PlannedStory,
            temperature=self._temperature,
        )
        contents = [
            types.Content(role="user", parts=[types.Part(text=prompts.story_request(story))])
        ]
        usable: PlannedStory | None = None
        problem = ""
        for attempt in range(2):
            response = _generate(
                self._client,
                "Planning the story",
                model=self._model,
                contents=contents,
                config=config,
            )
            refusal = _refusal(response)
            if refusal:
                raise PlanningFailed(f"The story planner declined this story: {refusal}.")
            parsed, problem = _read_plan(response, panels)
            if parsed is not None:
                if not problem:
                    return _to_domain(parsed, story, panels)
                usable = usable or parsed
            if attempt == 0:
                logger.info("story plan did not fit, asking again: %s", problem)
                contents += [
                    types.Content(role="model", parts=[types.Part(text=response.text or "")]),
                    types.Content(
                        role="user",
                        parts=[types.Part(text=prompts.plan_correction(problem, panels=panels))],
                    ),
                ]
        if usable is not None:
            # Right shape, wrong panel count twice: trim or keep the shorter plan.
            return _to_domain(usable, story, panels)
        raise PlanningFailed(
            f"The story planner's reply did not fit the plan format, twice: {problem}"
        )


def _read_plan(
    response: types.GenerateContentResponse, panels: int
) -> tuple[PlannedStory | None, str]:
    """(the plan if its shape is usable, the problem to report or "")."""
    parsed = response.parsed
    if not isinstance(parsed, PlannedStory):
        text = response.text or ""
        if not text.strip():
            return None, f"the reply was empty (finish reason {_finish_reason(response)})."
        try:
            # The SDK hides why parsing failed (parsed is None); validating again tells us.
            parsed = PlannedStory.model_validate_json(text)
        except ValidationError as error:
            return None, _describe(error)
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
        if name and name.casefold() not in characters and len(characters) < MAX_CHARACTERS:
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
                speaker=known(line.speaker) or line.speaker.strip(), text=line.text.strip()
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
    title = " ".join(parsed.title.split())[:TITLE_CHARS] or " ".join(story.split()[:6])
    return StoryPlan(title=title, characters=tuple(characters.values()), panels=tuple(plans))


# ---- images -------------------------------------------------------------------------------

# Finish reasons and block reasons, in words a reader of the panel's error understands.
_FINISH_REASONS = {
    "SAFETY": "the safety filter stopped it",
    "IMAGE_SAFETY": "the image safety filter stopped it",
    "PROHIBITED_CONTENT": "it would show prohibited content",
    "IMAGE_PROHIBITED_CONTENT": "it would show prohibited content",
    "BLOCKLIST": "the prompt contains blocked terms",
    "SPII": "it would show personal information",
    "RECITATION": "it resembled protected material too closely",
    "IMAGE_RECITATION": "it resembled protected material too closely",
    "NO_IMAGE": "the model answered without a picture",
    "IMAGE_OTHER": "the model could not produce a picture",
}
_BLOCK_REASONS = {
    "SAFETY": "the prompt was blocked by the safety filter",
    "IMAGE_SAFETY": "the prompt was blocked by the image safety filter",
    "PROHIBITED_CONTENT": "the prompt touches prohibited content",
    "BLOCKLIST": "the prompt contains blocked terms",
}


def _name(value: object) -> str:
    return str(getattr(value, "value", value) or "")


def _finish_reason(response: types.GenerateContentResponse) -> str:
    candidates = response.candidates or []
    return _name(candidates[0].finish_reason) if candidates else "none"


def _refusal(response: types.GenerateContentResponse) -> str:
    """Why the model refused, in words, or "" when it did not."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        reason = _name(feedback.block_reason)
        return _BLOCK_REASONS.get(reason, f"the prompt was blocked ({reason})")
    reason = _finish_reason(response)
    if reason in _FINISH_REASONS and reason != "NO_IMAGE":
        return _FINISH_REASONS[reason]
    return ""


def image_mime_type(data: bytes) -> str:
    """The MIME type of PNG, JPEG or WebP bytes (reference sheets are stored as returned)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


class GeminiImageGenerator:
    """Draws character sheets and panels with a Gemini image model.

    A refusal (safety finish reasons, a blocked prompt, a reply without a picture) is re-rolled
    once with a softened prompt; that re-roll is separate from the SDK's HTTP retries. A
    second refusal raises ContentBlocked with the reason.
    """

    def __init__(
        self,
        client: genai.Client,
        *,
        model: str = DEFAULT_IMAGE_MODEL,
        aspect_ratio: str = ASPECT_RATIO,
        max_references: int = MAX_REFERENCES,
    ) -> None:
        self._client = client
        self._model = model
        self._aspect_ratio = aspect_ratio
        self._max_references = max_references

    def character_sheet(self, character: Character, *, style: str) -> RenderedImage:
        """Returns a reference sheet: three views of the character on a plain background."""
        prompt = prompts.character_sheet_prompt(character, style=style)
        return self._draw(prompt, [], f"the reference sheet for {character.name}")

    def panel(
        self,
        panel: PanelPlan,
        *,
        style: str,
        characters: Sequence[Character],
        references: dict[str, bytes],
        previous: PanelPlan | None = None,
    ) -> RenderedImage:
        """Returns the panel drawn with the reference sheets of the characters in it."""
        cast = [c for c in characters if references.get(c.name)][: self._max_references]
        prompt = prompts.panel_prompt(
            panel,
            style=style,
            characters=characters,
            previous=previous,
            references=[c.name for c in cast],
        )
        sheets: list[types.Part] = []
        for character in cast:
            data = references[character.name]
            sheets += [
                types.Part(text=prompts.reference_label(character.name)),
                types.Part.from_bytes(data=data, mime_type=image_mime_type(data)),
            ]
        return self._draw(prompt, sheets, f"panel {panel.index + 1}")

    def _draw(self, prompt: str, sheets: list[types.Part], subject: str) -> RenderedImage:
        outcome = self._attempt(prompt, sheets, subject)
        if isinstance(outcome, RenderedImage):
            return outcome
        logger.info("image refused (%s), re-rolling with a softened prompt", outcome)
        second = self._attempt(prompts.soften(prompt), sheets, subject)
        if isinstance(second, RenderedImage):
            return second
        raise ContentBlocked(
            f"The image model declined to draw {subject}: {second}. A gentler version of the "
            "prompt was declined too; rewording this part of the story may help."
        )

    def _attempt(self, prompt: str, sheets: list[types.Part], subject: str) -> RenderedImage | str:
        """The image, or why there is none."""
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=self._aspect_ratio),
        )
        response = _generate(
            self._client,
            f"Drawing {subject}",
            model=self._model,
            contents=[types.Part(text=prompt), *sheets],
            config=config,
        )
        refusal = _refusal(response)
        if refusal:
            return refusal
        candidates = response.candidates or []
        parts = (
            candidates[0].content.parts if candidates and candidates[0].content else None
        ) or []
        for part in parts:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "").startswith("image/"):
                return _rendered(blob.data, blob.mime_type or "image/png", subject)
        said = " ".join(" ".join(p.text for p in parts if p.text).split())
        reason = _FINISH_REASONS["NO_IMAGE"]
        return f'{reason} ("{said[:160]}")' if said else reason


def _rendered(data: bytes, mime_type: str, subject: str) -> RenderedImage:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as error:
        raise ProviderError(
            f"Drawing {subject}: the Gemini API returned an image that cannot be read"
        ) from error
    return RenderedImage(data=data, width=width, height=height, content_type=mime_type)
