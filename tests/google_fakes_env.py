"""The Google providers' settings and adapters pointed at the local wire-protocol fakes."""

from __future__ import annotations

from typing import Any

from fakes.gemini_server import FakeGemini
from fakes.tts_server import FakeTextToSpeech
from panelflow.adapters import gemini
from panelflow.bootstrap import Services
from panelflow.settings import Settings


def google_env(
    gemini_fake: FakeGemini | None = None, tts_fake: FakeTextToSpeech | None = None, **extra: str
) -> dict[str, str]:
    """Provider variables for the Google adapters, with short retries, aimed at the fakes given."""
    env = {
        "PANELFLOW_PROVIDERS": "google",
        "GEMINI_API_KEY": "test-key",
        "PANELFLOW_RETRY_INITIAL_S": "0.05",
        "PANELFLOW_RETRY_MAX_S": "0.2",
        "PANELFLOW_GEMINI_TIMEOUT_S": "5",
    }
    if gemini_fake is not None:
        env["GOOGLE_GEMINI_BASE_URL"] = gemini_fake.base_url
    if tts_fake is not None:
        env["PANELFLOW_TTS_ENDPOINT"] = tts_fake.address
    env.update(extra)
    return env


def google_settings(
    gemini_fake: FakeGemini | None = None, tts_fake: FakeTextToSpeech | None = None, **extra: str
) -> Settings:
    """Settings read from ``google_env`` in a demo project."""
    return Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "demo-google", **google_env(gemini_fake, tts_fake, **extra)}
    )


def gemini_planner(fake: FakeGemini, **extra: str) -> gemini.GeminiStoryPlanner:
    """The Gemini story planner the composition root builds, talking to ``fake``."""
    planner = Services(google_settings(fake, **extra)).planner
    assert isinstance(planner, gemini.GeminiStoryPlanner)
    return planner


def gemini_images(fake: FakeGemini, **extra: str) -> gemini.GeminiImageGenerator:
    """The Gemini image generator the composition root builds, talking to ``fake``."""
    images = Services(google_settings(fake, **extra)).images
    assert isinstance(images, gemini.GeminiImageGenerator)
    return images


def mira_and_tomas() -> list[dict[str, str]]:
    """The two characters of the lighthouse plans the fake planner serves, in its JSON."""
    return [
        {"name": "Mira", "visual_description": "tall, red raincoat", "voice": "female"},
        {"name": "Tomas", "visual_description": "grey beard, yellow oilskin", "voice": "male"},
    ]


def dusk_panel() -> dict[str, Any]:
    """A planned panel, in the fake planner's JSON: Mira at the lighthouse, one line spoken."""
    return {
        "scene": "A lighthouse at dusk.",
        "characters": ["Mira"],
        "caption": "Dusk.",
        "narration": "Mira kept the light.",
        "dialogue": [{"speaker": "Mira", "text": "Storm tonight."}],
        "image_prompt": "Mira at the lighthouse door.",
    }
