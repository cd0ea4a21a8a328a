"""``panelflow doctor``: checks the Google providers the settings choose, before a job pays.

What it checks: the settings validate; the Gemini credentials work and each configured model
exists (``models.get``); every voice a job may use exists (``list_voices``) and how its MP3
is made (by the service, or from LINEAR16 here). It reads the same environment as the
functions (``Settings.from_env``) and prints one line per check, or ``--json``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from panelflow.domain.errors import PanelflowError
from panelflow.settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # The setting to change when the check fails.
    variable: str = ""


def run_checks(env: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in order; a failure does not stop the ones that do not depend on it."""
    try:
        settings = Settings.from_env(env)
    except PanelflowError as error:
        return [Check("settings", False, error.message, error.field or "")]
    checks = [
        Check(
            "settings",
            True,
            f"planner={settings.planner} images={settings.images} voice={settings.voice}",
        )
    ]
    if settings.uses_gemini:
        checks += _gemini_checks(settings)
    else:
        checks.append(Check("gemini", True, "not used (offline or simulated providers)"))
    if settings.voice == "google":
        checks += _voice_checks(settings)
    else:
        checks.append(Check("text-to-speech", True, "not used (offline or simulated voice)"))
    return checks


def _gemini_checks(settings: Settings) -> list[Check]:
    from panelflow.adapters.gemini import make_client, translate_error
    from panelflow.adapters.gemini.errors import TRANSLATED
    from panelflow.domain.errors import ModelUnavailable
    from panelflow.domain.provider_models import MODELS

    if settings.gemini_vertex:
        how = f"Vertex AI, project {settings.project_id}, location {settings.gemini_location}"
        variable = "GOOGLE_GENAI_USE_VERTEXAI"
    else:
        how = "Gemini API key (GEMINI_API_KEY)"
        variable = "GEMINI_API_KEY"
    if settings.gemini_base_url:
        how += f" at {settings.gemini_base_url}"
    checks = []
    try:
        client = make_client(settings)
    except TRANSLATED as error:
        failed = translate_error(error, "Connecting to Gemini")
        return [Check("gemini credentials", False, failed.message, failed.field or variable)]
    refused = ""
    for variable_name, model, use in (
        ("PANELFLOW_PLANNER_MODEL", settings.planner_model, settings.planner),
        ("PANELFLOW_IMAGE_MODEL", settings.image_model, settings.images),
    ):
        if use != "google":
            continue
        try:
            found = client.models.get(model=model)
        except TRANSLATED as error:
            failed = translate_error(
                error, f"Looking up {model}", model=model, model_variable=variable_name
            )
            if not isinstance(failed, ModelUnavailable):
                refused = refused or failed.message
            checks.append(Check(f"model {model}", False, failed.message, variable_name))
            continue
        known = MODELS.get(model)
        traits = []
        if found.output_token_limit:
            traits.append(f"output up to {found.output_token_limit} tokens")
        if known is not None and known.kind == "image":
            traits.append(f"{known.max_references} reference images")
        checks.append(
            Check(f"model {model}", True, "found; " + ", ".join(traits) if traits else "found")
        )
    # A model that is missing says nothing against the credentials; any other failure might.
    credentials = Check("gemini credentials", not refused, refused or how, variable)
    return [credentials, *checks]


def _voice_checks(settings: Settings) -> list[Check]:
    from panelflow.adapters import cloud_tts
    from panelflow.domain.voices import PCM_ONLY_TIERS, tier_of

    endpoint = settings.tts_endpoint or "texttospeech.googleapis.com"
    try:
        synthesizer = cloud_tts.CloudTextToSpeechSynthesizer(
            cloud_tts.make_client(settings),
            voices=settings.tts_voices,
            tier=settings.tts_tier,
            timeout=settings.tts_timeout_s,
            retry=cloud_tts.make_retry(
                initial=settings.retry_initial_s, maximum=settings.retry_max_s, budget=10
            ),
        )
        wanted = synthesizer.default_voices(settings.languages)
        problems = synthesizer.check_voices(wanted)
    except PanelflowError as error:
        return [Check("text-to-speech", False, error.message, error.field or "PANELFLOW_VOICE")]
    checks = [Check("text-to-speech", True, f"{endpoint}, tier {settings.tts_tier}")]
    missing = [name for name, problem in problems.items() if problem]
    pcm = [name for name in wanted if tier_of(name) in PCM_ONLY_TIERS]
    variable = "PANELFLOW_TTS_VOICES" if set(missing) & set(settings.tts_voices.values()) else ""
    checks.append(
        Check(
            "voices",
            not missing,
            f"{len(wanted) - len(missing)} of {len(wanted)} found"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; {len(pcm)} produce LINEAR16, encoded to MP3 here" if pcm else "; all make MP3"),
            variable or ("PANELFLOW_TTS_TIER" if missing else ""),
        )
    )
    return checks


def report(checks: list[Check], out: TextIO, *, as_json: bool = False) -> int:
    """Prints the checks; 0 when all passed, else 1."""
    ok = all(check.ok for check in checks)
    if as_json:
        body: dict[str, Any] = {"ok": ok, "checks": [asdict(check) for check in checks]}
        print(json.dumps(body), file=out)
        return 0 if ok else 1
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        hint = f" (set {check.variable})" if check.variable and not check.ok else ""
        print(f"{mark} {check.name:<32} {check.detail}{hint}", file=out)
    print("all checks passed" if ok else "some checks failed", file=out)
    return 0 if ok else 1


def main(
    as_json: bool = False, env: Mapping[str, str] | None = None, out: TextIO | None = None
) -> int:
    return report(run_checks(env), out or sys.stdout, as_json=as_json)
