"""The image generator: character sheets and panels from a Gemini image model."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from google import genai
from google.genai import types

from panelflow.adapters import prompts
from panelflow.adapters.gemini.client import Call, RetryPolicy, generate, token_units
from panelflow.adapters.gemini.replies import FINISH_REASONS, refusal
from panelflow.domain import costs
from panelflow.domain.errors import ConfigurationError, ContentBlocked, ProviderError
from panelflow.domain.models import Character, PanelRequest, RenderedImage
from panelflow.domain.provider_models import DEFAULT_IMAGE_MODEL, image_model

logger = logging.getLogger(__name__)

ASPECT_RATIO = "3:2"
MODEL_VARIABLE = "PANELFLOW_IMAGE_MODEL"


def image_mime_type(data: bytes) -> str:
    """The MIME type of PNG, JPEG or WebP bytes (reference sheets are stored as returned)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


@dataclass(frozen=True)
class Refusal:
    """Why the image model drew nothing: ``reason`` in our words, and what the model said
    instead (derived from the story, so for the panel's owner only, never for the logs)."""

    reason: str
    said: str = ""

    def __str__(self) -> str:
        return f'{self.reason} ("{self.said[:160]}")' if self.said else self.reason


class GeminiImageGenerator:
    """Draws character sheets and panels with a Gemini image model.

    A refusal (safety finish reasons, a blocked prompt, a reply without a picture) is re-rolled
    once with a softened prompt; that re-roll is separate from transport retries. A second
    refusal raises ContentBlocked with the reason. Thinking models send draft images marked
    ``thought`` before the final one: drafts are skipped. A timed-out request is not re-sent
    within the call (it may have been billed); the queue's redelivery decides.

    ``max_references`` defaults to the model's published limit (provider_models).
    """

    def __init__(
        self,
        client: genai.Client,
        *,
        model: str = DEFAULT_IMAGE_MODEL,
        aspect_ratio: str = ASPECT_RATIO,
        max_references: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        known = image_model(model)
        if aspect_ratio not in known.aspect_ratios:
            raise ConfigurationError(
                f"{model} does not draw {aspect_ratio} pictures "
                f"(it draws {', '.join(known.aspect_ratios)})",
                field=MODEL_VARIABLE,
            )
        self._client = client
        self._model = model
        self._aspect_ratio = aspect_ratio
        self._max_references = (
            max_references if max_references is not None else known.max_references
        )
        self._retry = retry or RetryPolicy(retry_timeouts=False)

    @property
    def max_references(self) -> int:
        return self._max_references

    def character_sheet(self, character: Character, *, style: str) -> RenderedImage:
        """Returns a reference sheet: three views of the character on a plain background."""
        prompt = prompts.character_sheet_prompt(character, style=style)
        return self._draw(prompt, [], f"the reference sheet for {character.name}", "reference")

    def panel(self, request: PanelRequest) -> RenderedImage:
        """Returns the panel drawn with the reference sheets of the characters in it."""
        references = request.references
        cast = [c for c in request.characters if references.get(c.name)][: self._max_references]
        prompt = prompts.panel_prompt(
            request.panel,
            style=request.style,
            characters=request.characters,
            previous=request.previous,
            references=[c.name for c in cast],
        )
        sheets: list[types.Part] = []
        for character in cast:
            data = references[character.name]
            sheets += [
                types.Part(text=prompts.reference_label(character.name)),
                types.Part.from_bytes(data=data, mime_type=image_mime_type(data)),
            ]
        return self._draw(prompt, sheets, f"panel {request.panel.index + 1}", "image")

    def _draw(
        self, prompt: str, sheets: list[types.Part], subject: str, kind: str
    ) -> RenderedImage:
        outcome = self._attempt(prompt, sheets, subject, kind)
        if isinstance(outcome, RenderedImage):
            return outcome
        # Only our words: what the model said is derived from the story.
        logger.info("image refused (%s), re-rolling with a softened prompt", outcome.reason)
        second = self._attempt(prompts.soften(prompt), sheets, subject, kind)
        if isinstance(second, RenderedImage):
            return second
        raise ContentBlocked(
            f"The image model declined to draw {subject}: {second}. A gentler version of the "
            "prompt was declined too; rewording this part of the story may help."
        )

    def _attempt(
        self, prompt: str, sheets: list[types.Part], subject: str, kind: str
    ) -> RenderedImage | Refusal:
        """The image, or why there is none."""
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=self._aspect_ratio),
        )
        call = Call(
            f"Drawing {subject}", self._model, MODEL_VARIABLE, kind, timeout_units={"images": 1}
        )
        response = generate(
            self._client,
            call,
            contents=[types.Part(text=prompt), *sheets],
            config=config,
            policy=self._retry,
        )
        outcome = self._read(response, subject)
        units = token_units(response)
        units.pop("outputTokens", None)  # the picture is priced per image instead
        if isinstance(outcome, RenderedImage):
            units["images"] = 1
        costs.record(
            costs.PaidCall(
                kind=kind,
                provider="google",
                model=self._model,
                units=units,
                outcome="ok" if isinstance(outcome, RenderedImage) else "refused",
            )
        )
        return outcome

    @staticmethod
    def _read(response: types.GenerateContentResponse, subject: str) -> RenderedImage | Refusal:
        declined = refusal(response)
        if declined:
            return Refusal(declined)
        candidates = response.candidates or []
        parts = (
            candidates[0].content.parts if candidates and candidates[0].content else None
        ) or []
        # Drafts (thought parts) come first; the final image is the last non-thought one.
        final = [
            part
            for part in parts
            if not part.thought
            and part.inline_data is not None
            and part.inline_data.data
            and (part.inline_data.mime_type or "").startswith("image/")
        ]
        if final:
            blob = final[-1].inline_data
            assert blob is not None and blob.data
            return _rendered(blob.data, blob.mime_type or "image/png", subject)
        said = " ".join(" ".join(p.text for p in parts if p.text and not p.thought).split())
        return Refusal(FINISH_REASONS["NO_IMAGE"], said)


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
