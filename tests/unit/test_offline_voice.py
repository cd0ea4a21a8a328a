"""The local voices: real flite output, voice choice, text hygiene and error mapping."""

from __future__ import annotations

import itertools
import json
import sys
import textwrap
from pathlib import Path

import pytest

from panelflow.adapters.offline import voice as voice_module
from panelflow.adapters.offline.voice import (
    EspeakSpeechSynthesizer,
    FliteSpeechSynthesizer,
    find_flite,
)
from panelflow.domain.errors import (
    ConfigurationError,
    ProviderError,
    TransientError,
    VoiceUnavailable,
)
from panelflow.domain.models import SpeechLine, SynthesizedAudio

SENTENCE = "The storm rolled in from the sea, and the lighthouse keeper climbed the stairs."


@pytest.fixture
def flite(monkeypatch) -> FliteSpeechSynthesizer:
    # The real program on this machine, whatever PANELFLOW_FLITE_BIN says outside the test.
    monkeypatch.delenv("PANELFLOW_FLITE_BIN", raising=False)
    return FliteSpeechSynthesizer()


def fake_flite(tmp_path: Path, body: str) -> Path:
    """An executable standing in for flite; it records its arguments in calls.jsonl."""
    script = tmp_path / "flite"
    script.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent(
            f"""
            import json, sys, time, wave
            args = sys.argv[1:]
            with open({str(tmp_path / "calls.jsonl")!r}, "a") as log:
                log.write(json.dumps(args) + "\\n")
            """
        )
        + textwrap.dedent(body)
    )
    script.chmod(0o755)
    return script


WRITE_WAV = """
out = args[args.index("-o") + 1]
text = args[args.index("-t") + 1]
with wave.open(out, "wb") as writer:
    writer.setnchannels(1)
    writer.setsampwidth(2)
    writer.setframerate(8000)
    writer.writeframes(b"\\x10\\x00" * 80 * len(text))
"""


def calls(tmp_path: Path) -> list[list[str]]:
    lines = (tmp_path / "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def is_mp3(audio: SynthesizedAudio) -> bool:
    data = audio.data
    return data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def test_narration_becomes_an_mp3(flite):
    audio = flite.synthesize([SpeechLine(text=SENTENCE)], language="en")

    assert is_mp3(audio)
    assert audio.content_type == "audio/mpeg"
    assert audio.duration_ms > 500
    # 64 kbps: the byte count follows the duration.
    assert 0.5 < len(audio.data) * 8 / 64 / audio.duration_ms < 1.5


def test_longer_text_lasts_longer(flite):
    short = flite.synthesize([SpeechLine(text="Hello there.")], language="en")
    long = flite.synthesize([SpeechLine(text=SENTENCE + " " + SENTENCE)], language="en")

    assert short.duration_ms > 300
    assert long.duration_ms > short.duration_ms * 3


def test_lines_are_joined_with_a_pause(flite):
    one = flite.synthesize([SpeechLine(text="Hello there.")], language="en")
    two = flite.synthesize(
        [SpeechLine(text="Hello there."), SpeechLine(text="Hello there.")], language="en"
    )

    assert two.duration_ms == pytest.approx(one.duration_ms * 2 + 250, abs=5)


def test_different_voices_sound_different(flite):
    female = flite.synthesize(
        [SpeechLine(text="Run to the boat!", speaker="Mira", voice="female")], language="en"
    )
    male = flite.synthesize(
        [SpeechLine(text="Run to the boat!", speaker="Mira", voice="male")], language="en"
    )
    narrator = flite.synthesize([SpeechLine(text="Run to the boat!")], language="en")

    assert len({female.data, male.data, narrator.data}) == 3


def test_same_input_gives_the_same_audio(flite):
    lines = [SpeechLine(text=SENTENCE), SpeechLine(text="Go!", speaker="Tom", voice="male")]

    assert flite.synthesize(lines, language="en") == flite.synthesize(lines, language="en")


def test_voices_follow_the_hint_and_stay_with_the_character(flite):
    assert flite.voice_for(SpeechLine("x")) == ("rms", None)
    assert flite.voice_for(SpeechLine("x", "Mira", "female"))[0] == "slt"
    assert flite.voice_for(SpeechLine("x", "Tom", "male"))[0] in ("awb", "kal16")
    assert flite.voice_for(SpeechLine("x", "Tom", "awb")) == ("awb", None)
    assert flite.voice_for(SpeechLine("x", "Tom", "male")) == flite.voice_for(
        SpeechLine("y", "Tom", "male")
    )
    # Only built-in names reach flite, which would also load a voice from a path or URL.
    assert flite.voice_for(SpeechLine("x", "Tom", "http://example.invalid/v.flitevox"))[0] in (
        voice_module.FLITE_VOICES
    )
    female_pitches = {flite.voice_for(SpeechLine("x", name, "female")) for name in "ABCDEFGH"}
    assert len(female_pitches) > 1


def test_eight_kilohertz_voice_is_resampled(flite):
    audio = flite.synthesize(
        [
            SpeechLine(text="Hello there."),
            SpeechLine(text="Hello there.", speaker="A", voice="kal"),
        ],
        language="en",
    )

    assert is_mp3(audio)
    assert audio.duration_ms > 1000


@pytest.mark.parametrize(
    "lines",
    [[], [SpeechLine(text="")], [SpeechLine(text="   \n\t"), SpeechLine(text="\x00\x07")]],
)
def test_nothing_to_say_is_a_provider_error(flite, lines):
    with pytest.raises(ProviderError) as caught:
        flite.synthesize(lines, language="en")

    assert "nothing to speak" in caught.value.message


def test_missing_flite_is_a_configuration_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PANELFLOW_FLITE_BIN", str(tmp_path / "no-such-flite"))

    assert find_flite() is None
    with pytest.raises(ConfigurationError) as caught:
        FliteSpeechSynthesizer()

    message = caught.value.message
    assert "apt-get install flite" in message
    assert "brew install flite" in message
    assert "PANELFLOW_VOICE" in message


def test_find_flite_prefers_the_configured_program(monkeypatch, tmp_path):
    script = fake_flite(tmp_path, WRITE_WAV)
    monkeypatch.setenv("PANELFLOW_FLITE_BIN", str(script))

    assert find_flite() == str(script)


def test_text_reaches_flite_as_one_clean_argument(monkeypatch, tmp_path):
    script = fake_flite(tmp_path, WRITE_WAV)
    monkeypatch.setenv("PANELFLOW_FLITE_BIN", str(script))
    hostile = "-o /etc/passwd\x00 $(rm -rf /); `reboot` \x1b[31m" + "word " * 400

    FliteSpeechSynthesizer().synthesize([SpeechLine(text=hostile)], language="en")

    (args,) = calls(tmp_path)
    text = args[args.index("-t") + 1]
    assert text.startswith("-o /etc/passwd $(rm -rf /); `reboot` [31mword word")
    assert len(text) <= 1000
    assert not any(ord(char) < 32 for char in text)
    assert args[:2] == ["-voice", "rms"]


def test_flite_failure_is_a_provider_error(monkeypatch, tmp_path):
    script = fake_flite(tmp_path, "sys.stderr.write('voice exploded'); sys.exit(3)")
    monkeypatch.setenv("PANELFLOW_FLITE_BIN", str(script))

    with pytest.raises(ProviderError) as caught:
        FliteSpeechSynthesizer().synthesize([SpeechLine(text="Hello.")], language="en")

    assert "exit code 3" in caught.value.message
    assert "voice exploded" in caught.value.message


def test_flite_timeout_is_transient(monkeypatch, tmp_path):
    script = fake_flite(tmp_path, "time.sleep(10)")
    monkeypatch.setenv("PANELFLOW_FLITE_BIN", str(script))

    with pytest.raises(TransientError):
        FliteSpeechSynthesizer(timeout=0.5).synthesize([SpeechLine(text="Hi.")], language="en")


def test_espeak_without_program_or_extra_names_the_extra(monkeypatch):
    monkeypatch.setattr(voice_module.shutil, "which", lambda name: None)
    # A None entry makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)

    with pytest.raises(ConfigurationError) as caught:
        EspeakSpeechSynthesizer()

    assert "panelflow[gpl-voices]" in caught.value.message


def test_espeak_voices_follow_language_and_hint(monkeypatch, tmp_path):
    program = tmp_path / "espeak-ng"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    espeak = EspeakSpeechSynthesizer(str(program))

    assert espeak.voice_for(SpeechLine("x"), "de")[0] == "de"
    assert espeak.voice_for(SpeechLine("x", "Mira", "female"), "fr")[0].startswith("fr+f")
    assert espeak.voice_for(SpeechLine("x", "Tom", "male"), "en")[0].startswith("en+m")
    assert espeak.voice_for(SpeechLine("x"), "tlh")[0] == "en"


def test_each_line_has_measured_times_inside_the_audio(flite):
    lines = [
        SpeechLine(text="The storm broke at dawn."),
        SpeechLine(text="Tomas, the lamp!", speaker="Mira", voice="female"),
        SpeechLine(text="I see it.", speaker="Tomas", voice="male"),
    ]

    audio = flite.synthesize(lines, language="en")

    assert [(t.speaker, t.text) for t in audio.lines] == [
        ("narrator", "The storm broke at dawn."),
        ("Mira", "Tomas, the lamp!"),
        ("Tomas", "I see it."),
    ]
    times = [(t.start_ms, t.end_ms) for t in audio.lines]
    assert times[0][0] == 0
    # Monotonic, never overlapping, the pause between lines, all inside the audio.
    for (start, end), (next_start, _) in itertools.pairwise(times):
        assert start < end <= next_start
        assert next_start - end >= voice_module.GAP_MS - 1
    assert times[-1][1] == audio.duration_ms
    # A longer line takes longer: the times come from the samples, not from a guess.
    assert times[0][1] - times[0][0] > times[2][1] - times[2][0]


@pytest.mark.parametrize("language", ["ja", "ar", "de"])
def test_flite_does_not_speak_other_languages(flite, language):
    with pytest.raises(VoiceUnavailable) as raised:
        flite.synthesize([SpeechLine(text="灯台の灯りが消えた。")], language=language)

    assert raised.value.code == "voice_unavailable"
    assert not raised.value.retryable
    assert language in str(raised.value)
