"""``panelflow doctor`` against the local fakes of Gemini (models.get) and Text-to-Speech
(list_voices)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from fakes.gemini_server import FakeGemini
from fakes.tts_server import FakeTextToSpeech
from panelflow_cli import doctor


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGemini, FakeTextToSpeech]]:
    with FakeGemini() as gemini_fake, FakeTextToSpeech() as tts_fake:
        yield gemini_fake, tts_fake


def _env(gemini_fake: FakeGemini, tts_fake: FakeTextToSpeech, **extra: str) -> dict[str, str]:
    return {
        "GOOGLE_CLOUD_PROJECT": "demo-doctor",
        "PANELFLOW_PROVIDERS": "google",
        "GEMINI_API_KEY": "test-key",
        "GOOGLE_GEMINI_BASE_URL": gemini_fake.base_url,
        "PANELFLOW_TTS_ENDPOINT": tts_fake.address,
        **extra,
    }


def _run(env: dict[str, str], *, as_json: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = doctor.main(as_json=as_json, env=env, out=out)
    return code, out.getvalue()


def test_everything_found(fakes) -> None:
    gemini_fake, tts_fake = fakes
    code, text = _run(_env(gemini_fake, tts_fake))
    print("\n" + text)
    assert code == 0 and text.endswith("all checks passed\n")
    assert "ok   model gemini-3.5-flash" in text
    assert "ok   model gemini-3.1-flash-image" in text and "14 reference images" in text
    assert tts_fake.list_calls == 1
    paths = [request.path for request in gemini_fake.requests]
    assert paths == []  # models.get is a GET: nothing generated, nothing paid

    code, text = _run(_env(gemini_fake, tts_fake, PANELFLOW_TTS_TIER="chirp3-hd"), as_json=True)
    body = json.loads(text)
    print(text)
    assert code == 0 and body["ok"]
    assert "encoded to MP3 here" in body["checks"][-1]["detail"]


def test_a_missing_model_and_a_missing_voice_name_their_variables(fakes) -> None:
    gemini_fake, tts_fake = fakes
    gemini_fake.models.discard("gemini-3.1-flash-image")
    del tts_fake.voices["ja-JP-Wavenet-C"]
    code, text = _run(_env(gemini_fake, tts_fake))
    print("\n" + text)
    assert code == 1
    assert "FAIL model gemini-3.1-flash-image" in text and "(set PANELFLOW_IMAGE_MODEL)" in text
    assert "ok   gemini credentials" in text
    assert "FAIL voices" in text and "ja-JP-Wavenet-C" in text


def test_bad_settings_are_reported_not_raised(fakes) -> None:
    gemini_fake, tts_fake = fakes
    code, text = _run(_env(gemini_fake, tts_fake, PANELFLOW_PLANNER_MODEL="gemini-2.5-flash"))
    assert code == 1
    assert "retired" in text and "(set PANELFLOW_PLANNER_MODEL)" in text


def test_refused_credentials_fail_the_credentials_check(fakes) -> None:
    gemini_fake, tts_fake = fakes
    gemini_fake.api_keys = {"the-right-key"}
    code, text = _run(_env(gemini_fake, tts_fake), as_json=True)
    checks = {check["name"]: check for check in json.loads(text)["checks"]}
    assert code == 1
    assert not checks["gemini credentials"]["ok"]
    assert "API key not valid" in checks["gemini credentials"]["detail"]
    assert checks["gemini credentials"]["variable"] == "GEMINI_API_KEY"
