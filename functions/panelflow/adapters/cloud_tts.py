"""Cloud Text-to-Speech: narration and dialogue with a voice per character, joined into one MP3.

Audio format: every request asks for MP3 at one sample rate (24 kHz) and the clips are joined
by concatenating their MPEG frames. A panel whose text fits one request therefore stores the
service's bytes unchanged; several clips are joined without re-encoding (any ID3 tag and
Xing/Info header frame is dropped from each, so players do not take the first clip's frame
count for the whole file). The duration is counted from the MPEG frame headers. Voices of
families that may not produce MP3 (Chirp 3 HD, see domain.voices.PCM_ONLY_TIERS) are asked
for LINEAR16 at the same rate, which is encoded to MP3 here with lameenc.

Input is limited to 5,000 bytes of UTF-8 per request, and the service also refuses a single
sentence that is too long ("This request contains sentences that are too long") whatever the
byte count: a sentence over ``max_sentence_bytes`` is cut at clause boundaries (commas,
semicolons, colons, dashes, CJK commas), a clause still too long at words, a word at
characters, and each piece is sent as a request of its own (so it is a sentence of its own).
Shorter sentences are packed into requests of at most 5,000 bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.api_core.retry import Retry

from panelflow.adapters import google_errors
from panelflow.domain import costs
from panelflow.domain.errors import (
    ConfigurationError,
    PanelflowError,
    ProviderError,
)
from panelflow.domain.models import NARRATOR, SpeechLine, SynthesizedAudio, TimedLine
from panelflow.domain.voices import (
    DEFAULT_TIER,
    PCM_ONLY_TIERS,
    VoiceSet,
    gender_of,
    tier_of,
    voice_set,
)
from panelflow.settings import VOICE_NAME_PATTERN, Settings

MAX_INPUT_BYTES = 5_000
# Well under what the service accepts as one sentence; long enough for any natural one.
MAX_SENTENCE_BYTES = 300
SAMPLE_RATE = 24_000
CONTENT_TYPE = "audio/mpeg"
# Bit rate of MP3 encoded here from LINEAR16 (speech, mono, 24 kHz).
ENCODED_KBPS = 48
# Western sentence ends need following whitespace; CJK full stops (U+3002, U+FF01, U+FF1F)
# end a sentence at once. Closing quotes and brackets stay with their sentence.
_SENTENCE_END = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*\s+|[\u3002\uff01\uff1f]+[\u300d\u300f\uff09]*\s*"
)
# A clause ends after a comma, semicolon, colon or dash followed by space, or a CJK comma.
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014]+\s+|[\u3001\uff0c\uff1b\uff1a]+\s*")
# Default voices by job language, for the default tier (see domain.voices).
DEFAULT_VOICES: dict[str, VoiceSet] = {
    language: voice_set(language)
    for language in ("en", "de", "es", "fr", "it", "pt", "nl", "ja", "ar")
}


def make_client(settings: Settings) -> Any:
    """A TextToSpeechClient: plaintext gRPC to a loopback endpoint (a local fake), else TLS."""
    from google.auth import exceptions as auth_exceptions
    from google.cloud import texttospeech_v1

    try:
        if settings.tts_endpoint and settings.tts_insecure:
            import grpc
            from google.cloud.texttospeech_v1.services.text_to_speech.transports import (
                TextToSpeechGrpcTransport,
            )

            channel = grpc.insecure_channel(settings.tts_endpoint)
            return texttospeech_v1.TextToSpeechClient(
                transport=TextToSpeechGrpcTransport(channel=channel)
            )
        if settings.tts_endpoint:
            return texttospeech_v1.TextToSpeechClient(
                client_options={"api_endpoint": settings.tts_endpoint}
            )
        return texttospeech_v1.TextToSpeechClient()
    except auth_exceptions.DefaultCredentialsError as error:
        raise ConfigurationError(
            "Cloud Text-to-Speech needs Application Default Credentials "
            "(a service account on Cloud Functions, or gcloud auth application-default login)",
            field="PANELFLOW_VOICE",
        ) from error


def make_retry(*, initial: float, maximum: float, budget: float) -> Retry:
    """Exponential backoff over transient errors only, for at most ``budget`` seconds."""
    return Retry(
        predicate=google_errors.is_transient,
        initial=max(initial, 0.001),
        maximum=max(maximum, initial, 0.001),
        multiplier=2.0,
        timeout=budget,
    )


class CloudTextToSpeechSynthesizer:
    """Speaks narration and dialogue with Cloud Text-to-Speech, a stable voice per character.

    Voice choice per line: ``voices`` (character name -> voice name, "" for the narrator),
    else a voice name given as the line's voice, else a default for the job language and
    ``tier``: the narrator's voice for narration, and for a character a voice from the pool
    matching its hint (female, male, neutral = either) chosen by a hash of its name, so it
    keeps its voice from panel to panel. The pools never hold the narrator's voice.
    """

    def __init__(
        self,
        client: Any,
        *,
        voices: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: Retry | None = None,
        max_input_bytes: int = MAX_INPUT_BYTES,
        max_sentence_bytes: int = MAX_SENTENCE_BYTES,
        tier: str = DEFAULT_TIER,
    ) -> None:
        # Holding the client keeps its channel open between panels.
        self._client = client
        self._voices = dict(voices or {})
        self._folded = {name.casefold(): voice for name, voice in self._voices.items()}
        self._timeout = timeout
        self._retry = retry if retry is not None else make_retry(initial=1, maximum=10, budget=60)
        self._max_input_bytes = max_input_bytes
        self._max_sentence_bytes = min(max_sentence_bytes, max_input_bytes)
        self._tier = tier

    def synthesize(self, lines: Sequence[SpeechLine], *, language: str) -> SynthesizedAudio:
        """Returns the lines spoken one after another as one MP3; see the SpeechSynthesizer port."""
        # (line, request text, voice): every request belongs to one line, so each line's
        # times are the summed durations of its own clips (read-along, measured not guessed).
        requests: list[tuple[SpeechLine, str, str]] = []
        for line in lines:
            text = _clean(line.text)
            if text:
                voice = self.voice_for(line, language)
                pieces = split_text(text, self._max_input_bytes, self._max_sentence_bytes)
                requests += [(line, piece, voice) for piece in pieces]
        if not requests:
            raise ProviderError("There is nothing to speak: every line is empty.")
        # One after another: the panel's image takes far longer, so this is off the critical
        # path, and one call at a time is gentler on the per-minute quota.
        clips = [self._speak(text, voice) for _, text, voice in requests]
        data = join_mp3(clips)
        timed: list[TimedLine] = []
        seconds = 0.0
        previous: SpeechLine | None = None
        for (line, _, _), clip in zip(requests, clips, strict=True):
            start = seconds
            seconds += mp3_duration(clip)
            if line is previous:
                # Another request of the same (long) line: the line ends later.
                timed[-1] = replace(timed[-1], end_ms=round(seconds * 1000))
                continue
            previous = line
            timed.append(
                TimedLine(
                    speaker=line.speaker or NARRATOR,
                    text=line.text,
                    start_ms=round(start * 1000),
                    end_ms=round(seconds * 1000),
                )
            )
        if seconds <= 0:
            raise ProviderError("Cloud Text-to-Speech returned audio without MPEG frames.")
        return SynthesizedAudio(
            data=data,
            content_type=CONTENT_TYPE,
            duration_ms=round(seconds * 1000),
            lines=tuple(timed),
        )

    def voice_for(self, line: SpeechLine, language: str) -> str:
        """The voice name for a line (see the class docstring for the order of choices)."""
        configured = self._voices.get(line.speaker) or self._folded.get(line.speaker.casefold())
        if configured:
            return configured
        defaults = voice_set(language, self._tier)
        if not line.speaker.strip():
            return defaults.narrator
        given = line.voice.strip()
        if VOICE_NAME_PATTERN.fullmatch(given) and given != defaults.narrator:
            return given
        hint = gender_of(line.voice) or "neutral"
        pool = {
            "female": defaults.female,
            "male": defaults.male,
        }.get(hint, defaults.female + defaults.male)
        choice = int(hashlib.sha256(line.speaker.casefold().encode()).hexdigest(), 16)
        return pool[choice % len(pool)]

    def default_voices(self, languages: Iterable[str]) -> list[str]:
        """Every voice this synthesizer may pick for the languages, configured ones first."""
        names = list(dict.fromkeys(self._voices.values()))
        for language in languages:
            names += [v for v in voice_set(language, self._tier).all() if v not in names]
        return names

    def check_voices(self, names: Iterable[str]) -> dict[str, str]:
        """Asks the service which of ``names`` exist: name -> problem ("" when usable).

        A voice of a family that may not produce MP3 is usable: it is asked for LINEAR16.
        """
        from google.cloud import texttospeech_v1 as tts

        translated: tuple[type[Exception], ...] = (api_exceptions.GoogleAPIError, *_auth_errors())
        try:
            listed = self._client.list_voices(
                request=tts.ListVoicesRequest(), retry=self._retry, timeout=self._timeout
            )
        except translated as error:
            raise translate_error(error) from error
        known = {voice.name for voice in listed.voices}
        return {
            name: "" if name in known else "Cloud Text-to-Speech has no voice of this name"
            for name in names
        }

    def _speak(self, text: str, voice: str) -> bytes:
        from google.cloud import texttospeech_v1 as tts

        tier = tier_of(voice) or self._tier
        pcm = tier in PCM_ONLY_TIERS
        encoding = tts.AudioEncoding.LINEAR16 if pcm else tts.AudioEncoding.MP3
        request = tts.SynthesizeSpeechRequest(
            input=tts.SynthesisInput(text=text),
            voice=tts.VoiceSelectionParams(language_code=language_code(voice), name=voice),
            audio_config=tts.AudioConfig(audio_encoding=encoding, sample_rate_hertz=SAMPLE_RATE),
        )
        translated: tuple[type[Exception], ...] = (api_exceptions.GoogleAPIError, *_auth_errors())
        try:
            response = self._client.synthesize_speech(
                request=request, retry=self._retry, timeout=self._timeout
            )
        except translated as error:
            raise translate_error(error) from error
        # Billed per character of input, by the voice's tier.
        costs.record(
            costs.PaidCall(
                kind="speech", provider="google", model=tier, units={"characters": len(text)}
            )
        )
        audio = bytes(response.audio_content)
        return encode_mp3(wav_samples(audio), SAMPLE_RATE) if pcm else audio


def language_code(voice: str) -> str:
    """en-US-Neural2-F -> en-US."""
    return "-".join(voice.split("-")[:2])


def _auth_errors() -> tuple[type[Exception], ...]:
    from google.auth import exceptions as auth_exceptions

    return (auth_exceptions.GoogleAuthError,)


def translate_error(error: Exception) -> PanelflowError:
    """Maps google.api_core / google.auth exceptions to the core's errors, by type."""
    translated = google_errors.translate(error, "Cloud Text-to-Speech", field="PANELFLOW_VOICE")
    if isinstance(error, api_exceptions.NotFound):
        return ConfigurationError(
            f"{translated.message}: check the voice names (PANELFLOW_TTS_VOICES, "
            "PANELFLOW_TTS_TIER)",
            field="PANELFLOW_TTS_VOICES",
        )
    return translated


# ---- PCM ----------------------------------------------------------------------------------


def wav_samples(data: bytes) -> bytes:
    """The PCM samples of LINEAR16 audio: the WAV ``data`` chunk, or the bytes if headerless."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = (
            data[offset : offset + 4],
            int.from_bytes(data[offset + 4 : offset + 8], "little"),
        )
        if chunk == b"data":
            return data[offset + 8 : offset + 8 + size]
        offset += 8 + size + (size & 1)
    return b""


def encode_mp3(pcm: bytes, sample_rate: int) -> bytes:
    """Mono 16-bit PCM as MP3 at ENCODED_KBPS."""
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(ENCODED_KBPS)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_out_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(5)
    return bytes(encoder.encode(pcm[: len(pcm) - len(pcm) % 2]) + encoder.flush())


# ---- text ---------------------------------------------------------------------------------


def _clean(text: str) -> str:
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(printable.split())


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(
    text: str, max_bytes: int = MAX_INPUT_BYTES, max_sentence_bytes: int = MAX_SENTENCE_BYTES
) -> list[str]:
    """Requests for ``text``: whole sentences packed up to ``max_bytes``; a sentence over
    ``max_sentence_bytes`` cut at clauses, else words, else characters, each piece alone."""
    max_sentence_bytes = min(max_sentence_bytes, max_bytes)
    pieces: list[str] = []
    current = ""
    for sentence in _sentences(text):
        if _size(sentence.strip()) > max_sentence_bytes:
            pieces.append(current)
            current = ""
            pieces += _fit(sentence, max_sentence_bytes, [_clauses, _words, _characters])
            continue
        if current and _size(current + sentence) > max_bytes:
            pieces.append(current)
            current = ""
        current += sentence
    pieces.append(current)
    return [piece.strip() for piece in pieces if piece.strip()]


def _sentences(text: str) -> list[str]:
    """The text cut after each sentence end; the whitespace stays with the sentence before."""
    return _cut(text, _SENTENCE_END)


def _clauses(text: str) -> list[str]:
    return _cut(text, _CLAUSE_END)


def _cut(text: str, pattern: re.Pattern[str]) -> list[str]:
    cuts = [match.end() for match in pattern.finditer(text)]
    starts = [0, *cuts]
    ends = [*cuts, len(text)]
    return [text[start:end] for start, end in zip(starts, ends, strict=True) if start < end]


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _characters(text: str) -> list[str]:
    return list(text)


def _fit(text: str, max_bytes: int, splitters: Sequence[Callable[[str], list[str]]]) -> list[str]:
    """``text`` as pieces no larger than ``max_bytes``: units of the first splitter packed
    together, a unit still too large cut by the next splitter."""
    if _size(text.strip()) <= max_bytes or not splitters:
        return [text]
    parts: list[str] = []
    current = ""
    for unit in splitters[0](text):
        units = _fit(unit, max_bytes, splitters[1:]) if _size(unit.strip()) > max_bytes else [unit]
        for piece in units:
            if current and _size((current + piece).strip()) > max_bytes:
                parts.append(current)
                current = ""
            current += piece
    if current:
        parts.append(current)
    return parts


# ---- MP3 ----------------------------------------------------------------------------------

_BITRATES_KBPS = {
    # (MPEG-1?, layer) -> bitrate by index 1..14
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


@dataclass(frozen=True)
class Mp3Frame:
    offset: int
    length: int
    samples: int
    sample_rate: int
    # A Xing/Info/VBRI header frame: metadata that decoders skip, not sound.
    header_only: bool


def _frame_at(data: bytes, offset: int) -> Mp3Frame | None:
    if offset + 4 > len(data) or data[offset] != 0xFF or data[offset + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[offset + 1], data[offset + 2], data[offset + 3]
    version = (b1 >> 3) & 3
    layer = 4 - ((b1 >> 1) & 3)
    bitrate_index = b2 >> 4
    rate_index = (b2 >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _BITRATES_KBPS[(mpeg1, layer)][bitrate_index - 1] * 1000
    sample_rate = _SAMPLE_RATES[version][rate_index]
    padding = (b2 >> 1) & 1
    if layer == 1:
        length = (12 * bitrate // sample_rate + padding) * 4
        samples = 384
    elif layer == 2 or mpeg1:
        length = 144 * bitrate // sample_rate + padding
        samples = 1152
    else:
        length = 72 * bitrate // sample_rate + padding
        samples = 576
    if offset + length > len(data):
        return None
    mono = (b3 >> 6) == 3
    side_info = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    crc = 0 if b1 & 1 else 2
    tag_at = offset + 4 + crc + side_info
    header_only = layer == 3 and (
        data[tag_at : tag_at + 4] in (b"Xing", b"Info")
        or data[offset + 36 : offset + 40] == b"VBRI"
    )
    return Mp3Frame(offset, length, samples, sample_rate, header_only)


def _id3v2_length(data: bytes, offset: int) -> int:
    if data[offset : offset + 3] != b"ID3" or offset + 10 > len(data):
        return 0
    size = 0
    for byte in data[offset + 6 : offset + 10]:
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[offset + 5] & 0x10 else 0
    return 10 + size + footer


def mp3_frames(data: bytes) -> Iterator[Mp3Frame]:
    """The MPEG audio frames in ``data``, skipping ID3 tags and anything between frames."""
    offset = 0
    while offset + 4 <= len(data):
        tag = _id3v2_length(data, offset)
        if tag:
            offset += tag
            continue
        frame = _frame_at(data, offset)
        if frame is None:
            offset += 1  # resynchronise: trailing tags or damaged bytes
            continue
        yield frame
        offset += frame.length


def mp3_duration(data: bytes) -> float:
    """Seconds of sound in an MP3, counted from its frame headers."""
    return sum(f.samples / f.sample_rate for f in mp3_frames(data) if not f.header_only)


def join_mp3(clips: Sequence[bytes]) -> bytes:
    """One MP3 from several: a single clip unchanged, else their sound frames in order."""
    if len(clips) == 1:
        return clips[0]
    return b"".join(
        clip[frame.offset : frame.offset + frame.length]
        for clip in clips
        for frame in mp3_frames(clip)
        if not frame.header_only
    )
