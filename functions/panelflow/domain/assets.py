"""Asset names: derived from what went into an asset, so a redelivery finds it stored.

A redelivered message computes the same name and does not pay for the asset again; a
change of engine, style, text or character makes a new name, so a stale asset is never
reused; a regenerate request bumps the panel's generation, which is in the name too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from panelflow.domain.models import Character, Job, Panel, PanelPlan, SpeechLine

# Bumped when an engine's output changes, so old stored assets are not reused.
ENGINE_VERSION = 1


def image_engine(provider: str, model: str) -> str:
    """The image engine's name in asset names: a provider or model change never reuses
    another's image."""
    suffix = f"-{model}" if provider == "google" else ""
    return f"{provider}{suffix}-{ENGINE_VERSION}"


def voice_engine(provider: str) -> str:
    """The voice engine's name in asset names."""
    return f"{provider}-{ENGINE_VERSION}"


def _key(parts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def character_sheet_path(job_id: str, character: Character, style: str, engine: str) -> str:
    """Where a character's reference sheet is stored."""
    key = _key([engine, style, character.name, character.description])
    slug = re.sub(r"[^a-z0-9]+", "-", character.name.lower()).strip("-") or "character"
    return f"jobs/{job_id}/characters/{slug}-{key}.png"


def _panel_asset_path(
    job: Job, panel: Panel, kind: str, parts: Sequence[str], extension: str
) -> str:
    key = _key([*parts, f"generation={panel.generation}"])
    return f"jobs/{job.job_id}/panels/{panel.index:03d}/{kind}-{key}.{extension}"


def panel_characters(job: Job, panel: Panel) -> list[Character]:
    """The characters a panel is drawn with: those it shows, or the whole cast if none."""
    return [c for c in job.characters if c.name in panel.characters] or list(job.characters)


def panel_image_path(
    job: Job, panel: Panel, plan: PanelPlan, characters: Sequence[Character], engine: str
) -> str:
    """Where a panel's image is stored: named by engine, style, what the plan shows and the
    characters. Not by its words: lettering is a layer over the image, so an edited caption
    or line (or a translation) keeps the image, and only a changed prompt draws a new one."""
    pictured = {"scene": plan.scene, "imagePrompt": plan.image_prompt, "who": plan.characters}
    parts = [engine, job.art_style, json.dumps(pictured, sort_keys=True)]
    parts += [f"{c.name}:{c.description}" for c in characters]
    return _panel_asset_path(job, panel, "image", parts, "png")


def panel_audio_path(job: Job, panel: Panel, lines: Sequence[SpeechLine], engine: str) -> str:
    """Where a panel's audio is stored: named by engine, language and every spoken line."""
    parts = [engine, job.language] + [f"{x.speaker}|{x.voice}|{x.text}" for x in lines]
    return _panel_asset_path(job, panel, "audio", parts, "mp3")
