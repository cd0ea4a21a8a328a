"""Cloud Text-to-Speech helpers without a network: text splitting, MP3 frames, voice choice."""

from __future__ import annotations

import lameenc
import pytest

from panelflow.adapters import cloud_tts
from panelflow.adapters.cloud_tts import CloudTextToSpeechSynthesizer, split_text
from panelflow.domain.models import SpeechLine


def _mp3(milliseconds: int, rate: int = 24_000) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(32)
    encoder.set_in_sample_rate(rate)
    encoder.set_out_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(b"\x01\x00" * (rate * milliseconds // 1000)) + encoder.flush())


def _info_frame(frame: bytes) -> bytes:
    """A copy of an MPEG-2 mono frame turned into a Xing/Info header frame."""
    tag_at = 4 + 9
    return frame[:tag_at] + b"Info" + bytes(len(frame) - tag_at - 4)


def test_short_text_is_one_piece() -> None:
    assert split_text("Hello there.", 5_000) == ["Hello there."]


def test_multibyte_text_is_split_at_sentences_within_the_byte_limit() -> None:
    sentence = "Élodie a été très émue à la fenêtre é é é."
    text = " ".join([sentence] * 200)
    assert len(text) < 10_000 < len(text.encode())
    pieces = split_text(text, 5_000)
    assert len(pieces) > 1
    assert all(len(piece.encode()) <= 5_000 for piece in pieces)
    assert all(piece.endswith(".") for piece in pieces)
    assert " ".join(pieces) == text


def test_a_sentence_too_long_alone_is_split_at_words_then_characters() -> None:
    words = " ".join(["éléphant"] * 900)  # one 9,000-byte sentence
    pieces = split_text(words, 5_000)
    assert all(len(piece.encode()) <= 5_000 for piece in pieces)
    assert " ".join(pieces) == words
    assert all(not piece.startswith(" ") and not piece.endswith(" ") for piece in pieces)
    solid = "é" * 3_000  # 6,000 bytes with no space at all
    pieces = split_text(solid, 5_000, max_sentence_bytes=5_000)
    assert [len(piece.encode()) for piece in pieces] == [5_000, 1_000]
    assert "".join(pieces) == solid


def test_japanese_sentences_end_at_full_stops_without_spaces() -> None:
    text = "今日は晴れです。" * 400  # 24 bytes a sentence, no spaces
    pieces = split_text(text, 5_000)
    assert all(len(piece.encode()) <= 5_000 for piece in pieces)
    assert all(piece.endswith("。") for piece in pieces)
    assert "".join(pieces) == text


def test_mp3_duration_counts_frames_and_skips_tags_and_info_frames() -> None:
    clip = _mp3(1_000)
    frames = list(cloud_tts.mp3_frames(clip))
    assert frames and {f.sample_rate for f in frames} == {24_000}
    seconds = cloud_tts.mp3_duration(clip)
    assert 1.0 <= seconds <= 1.0 + 3 * 576 / 24_000
    first = clip[: frames[0].length]
    tagged = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(10) + _info_frame(first) + clip + b"TAG"
    assert cloud_tts.mp3_duration(tagged) == pytest.approx(seconds)


def test_one_clip_is_kept_byte_for_byte_and_several_are_joined_frame_by_frame() -> None:
    one, two = _mp3(400), _mp3(700)
    assert cloud_tts.join_mp3([one]) == one
    frames = list(cloud_tts.mp3_frames(two))
    two_tagged = b"ID3\x03\x00\x00\x00\x00\x00\x00" + _info_frame(two[: frames[0].length]) + two
    joined = cloud_tts.join_mp3([one, two_tagged])
    assert joined == one + two
    assert cloud_tts.mp3_duration(joined) == pytest.approx(
        cloud_tts.mp3_duration(one) + cloud_tts.mp3_duration(two)
    )


class _NoCalls:
    def synthesize_speech(self, **_kwargs: object) -> None:
        raise AssertionError("no request expected")


def test_voices_come_from_the_map_then_the_line_then_language_defaults() -> None:
    synthesizer = CloudTextToSpeechSynthesizer(
        _NoCalls(), voices={"Mira": "en-GB-Neural2-A", "": "en-AU-Wavenet-B"}
    )
    assert synthesizer.voice_for(SpeechLine("hi", speaker="Mira"), "en") == "en-GB-Neural2-A"
    assert synthesizer.voice_for(SpeechLine("hi", speaker="mira"), "de") == "en-GB-Neural2-A"
    assert synthesizer.voice_for(SpeechLine("once upon"), "en") == "en-AU-Wavenet-B"
    explicit = SpeechLine("hi", speaker="Bo", voice="fr-FR-Neural2-B")
    assert synthesizer.voice_for(explicit, "en") == "fr-FR-Neural2-B"

    defaults = CloudTextToSpeechSynthesizer(_NoCalls())
    german = cloud_tts.DEFAULT_VOICES["de"]
    assert defaults.voice_for(SpeechLine("Es war einmal"), "de") == german.narrator
    assert defaults.voice_for(SpeechLine("Hallo", "Anna", "female"), "de") in german.female
    assert defaults.voice_for(SpeechLine("Hallo", "Otto", "male"), "de") in german.male
    neutral = defaults.voice_for(SpeechLine("Hallo", "Robo", "neutral"), "de")
    assert neutral in german.female + german.male
    # A character keeps its voice; unknown languages fall back to English voices.
    assert defaults.voice_for(SpeechLine("a", "Anna", "female"), "de") == defaults.voice_for(
        SpeechLine("b", "Anna", "female"), "de"
    )
    assert defaults.voice_for(SpeechLine("x"), "xx") == cloud_tts.DEFAULT_VOICES["en"].narrator


def test_every_default_voice_names_its_language() -> None:
    for language, voices in cloud_tts.DEFAULT_VOICES.items():
        for voice in (voices.narrator, *voices.female, *voices.male):
            assert cloud_tts.language_code(voice).split("-")[0] == language
            assert cloud_tts.VOICE_NAME_PATTERN.fullmatch(voice)


def test_nothing_to_speak_is_a_permanent_error() -> None:
    from panelflow.domain.errors import ProviderError

    with pytest.raises(ProviderError):
        CloudTextToSpeechSynthesizer(_NoCalls()).synthesize([SpeechLine("  \n ")], language="en")
