"""Local voices: flite (BSD-style, the default) or eSpeak NG (GPL, optional), encoded as MP3."""

from __future__ import annotations

import array
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unicodedata
import wave
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import lameenc

from panelflow.domain.errors import (
    ConfigurationError,
    ProviderError,
    TransientError,
    VoiceUnavailable,
)
from panelflow.domain.models import NARRATOR, SpeechLine, SynthesizedAudio, TimedLine
from panelflow.domain.voices import gender_of

SAMPLE_RATE = 16_000
GAP_MS = 250
MAX_LINE_CHARS = 1_000
MP3_KBPS = 64
MP3_QUALITY = 5
FLITE_VOICES = ("slt", "rms", "awb", "kal16", "kal")
NARRATOR_VOICE = "rms"
FLITE_ENV = "PANELFLOW_FLITE_BIN"
ESPEAK_EXTRA = "panelflow[gpl-voices]"
# Languages eSpeak NG speaks (among those Panelflow accepts); others get no audio and a note.
ESPEAK_LANGUAGES = ("en", "de", "es", "fr", "it", "pt", "nl", "ja", "ar", "he", "hi", "ru", "el")

# Voice hint -> (flite voice, target pitch in Hz or None for the voice's own) choices; a hash of
# the speaker's name picks one, so a character keeps its voice from panel to panel. rms is the
# narrator's and ignores pitch, so no character gets it.
_FLITE_CHOICES: dict[str, tuple[tuple[str, int | None], ...]] = {
    "female": (("slt", None), ("slt", 185), ("slt", 205)),
    "male": (("awb", 105), ("awb", 122), ("kal16", 95), ("kal16", 115)),
    "neutral": (("kal16", 150), ("slt", 140)),
}
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class _Pcm:
    samples: array.array[int]
    rate: int


def find_flite() -> str | None:
    """The flite program to run: ``PANELFLOW_FLITE_BIN`` when set, else ``flite`` on PATH."""
    configured = os.environ.get(FLITE_ENV, "").strip()
    if configured:
        return shutil.which(configured)
    return shutil.which("flite")


def _base_language(language: str) -> str:
    return (language or "en").replace("_", "-").split("-")[0].lower()


class _LocalSynthesizer:
    """Speaks lines one by one with a local engine and joins them into one MP3.

    Each line's start and end are counted from the samples it produced, so the read-along
    times (``SynthesizedAudio.lines``) match the audio exactly.
    """

    timeout: float
    languages: tuple[str, ...] = ()

    def speaks(self, language: str) -> bool:
        """True when the engine has a voice for ``language``."""
        return _base_language(language) in self.languages

    def synthesize(self, lines: Sequence[SpeechLine], *, language: str) -> SynthesizedAudio:
        """Returns the lines spoken one after another with a short pause between them.

        Raises:
            VoiceUnavailable: the engine has no voice for ``language`` (not noise instead).
        """
        if not self.speaks(language):
            raise VoiceUnavailable(
                f"The offline voice ({type(self).__name__.removesuffix('SpeechSynthesizer')}) "
                f"cannot speak {language!r}; the panel has no audio. Read the text, or use "
                "the cloud voice (PANELFLOW_VOICE=google)."
            )
        spoken = [(line, _clean(line.text)) for line in lines]
        spoken = [(line, text) for line, text in spoken if text]
        if not spoken:
            raise ProviderError("There is nothing to speak: every line is empty.")
        # Engines are separate processes (or a locked library): a few at once cut the wait.
        with ThreadPoolExecutor(max_workers=min(4, len(spoken))) as pool:
            clips = list(pool.map(lambda item: self._speak(item[0], item[1], language), spoken))
        gap = array.array("h", bytes(2 * SAMPLE_RATE * GAP_MS // 1000))
        pcm = array.array("h")
        timed: list[TimedLine] = []
        for number, ((line, _text), clip) in enumerate(zip(spoken, clips, strict=True)):
            if number:
                pcm.extend(gap)
            start = len(pcm)
            pcm.extend(_resample(clip, SAMPLE_RATE))
            timed.append(
                TimedLine(
                    speaker=line.speaker or NARRATOR,
                    text=line.text,
                    start_ms=start * 1000 // SAMPLE_RATE,
                    end_ms=len(pcm) * 1000 // SAMPLE_RATE,
                )
            )
        if not pcm:
            raise ProviderError("The voice engine produced no audio for these lines.")
        return SynthesizedAudio(
            data=_mp3(pcm),
            content_type="audio/mpeg",
            duration_ms=len(pcm) * 1000 // SAMPLE_RATE,
            lines=tuple(timed),
        )

    def _speak(self, line: SpeechLine, text: str, language: str) -> _Pcm:
        raise NotImplementedError

    def _run(self, command: list[str], *, stdin: bytes | None = None) -> None:
        """Runs an engine without a shell; turns its failures into the core's errors."""
        try:
            result = subprocess.run(
                command,
                input=stdin,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise TransientError(
                f"{Path(command[0]).name} took longer than {self.timeout:g} s to speak a line"
            ) from error
        except OSError as error:
            raise ConfigurationError(
                f"cannot run {command[0]}: {error.strerror or error}", field="PANELFLOW_VOICE"
            ) from error
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip()[-300:]
            raise ProviderError(
                f"{Path(command[0]).name} failed with exit code {result.returncode}: {detail}"
            )


class FliteSpeechSynthesizer(_LocalSynthesizer):
    """Speaks with the flite program (English voices slt, rms, awb, kal16 built in).

    English only: for any other language ``synthesize`` raises ``VoiceUnavailable`` (flite
    would read Japanese or Arabic as a fraction of a second of noise).

    Narration uses one voice; each character gets a voice from its hint ("female", "male",
    "neutral" or a flite voice name) and a pitch chosen from a hash of its name.

    Raises:
        ConfigurationError: flite cannot be found.
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        narrator_voice: str = NARRATOR_VOICE,
        timeout: float = 30.0,
    ) -> None:
        found = shutil.which(binary) if binary else find_flite()
        if not found:
            where = binary or os.environ.get(FLITE_ENV) or "flite"
            raise ConfigurationError(
                f"The offline voice needs the flite program, and {where!r} was not found. "
                "Install it with `apt-get install flite` (Debian, Ubuntu) or `brew install flite` "
                f"(macOS), point {FLITE_ENV} at it, or set PANELFLOW_VOICE=google to use the "
                "cloud voice instead.",
                field="PANELFLOW_VOICE",
            )
        if narrator_voice not in FLITE_VOICES:
            raise ConfigurationError(
                f"flite has no voice {narrator_voice!r}; choose one of {', '.join(FLITE_VOICES)}",
                field="PANELFLOW_VOICE",
            )
        self.binary = found
        self.narrator_voice = narrator_voice
        self.timeout = timeout
        self.languages = ("en",)

    def _speak(self, line: SpeechLine, text: str, language: str) -> _Pcm:
        voice, pitch = self.voice_for(line)
        with tempfile.TemporaryDirectory(prefix="panelflow-flite-") as folder:
            output = os.path.join(folder, "line.wav")
            command = [self.binary, "-voice", voice]
            if pitch is not None:
                command += ["--setf", f"int_f0_target_mean={pitch}"]
            # -t takes the next argument as text even when it starts with a dash.
            command += ["-t", text, "-o", output]
            self._run(command)
            return _read_wav(output)

    def voice_for(self, line: SpeechLine) -> tuple[str, int | None]:
        """The flite voice and pitch for a line: narration, an explicit voice, or a hint."""
        if not line.speaker:
            return self.narrator_voice, None
        hint = line.voice.strip().lower()
        if hint in FLITE_VOICES:
            return hint, None
        choices = _FLITE_CHOICES.get(gender_of(hint) or hint)
        if choices is None:
            choices = tuple(choice for group in _FLITE_CHOICES.values() for choice in group)
        return choices[_pick(line.speaker, len(choices))]


class EspeakSpeechSynthesizer(_LocalSynthesizer):
    """Speaks with eSpeak NG (GPL), which knows every language Panelflow accepts.

    Uses the ``espeak-ng`` program when it is installed, else the library shipped by the
    optional ``espeakng-loader`` package (``pip install 'panelflow[gpl-voices]'``).

    Raises:
        ConfigurationError: neither the program nor the package is available.
    """

    def __init__(self, binary: str | None = None, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.languages = ESPEAK_LANGUAGES
        self.binary = (shutil.which(binary) if binary else shutil.which("espeak-ng")) or ""
        self._library: _EspeakLibrary | None = None
        if self.binary:
            return
        try:
            import espeakng_loader
        except ImportError as error:
            raise ConfigurationError(
                "The eSpeak NG voice needs the espeak-ng program or the optional extra "
                f"{ESPEAK_EXTRA} (GPL): `pip install '{ESPEAK_EXTRA}'` or "
                "`apt-get install espeak-ng`; or set PANELFLOW_VOICE to another voice.",
                field="PANELFLOW_VOICE",
            ) from error
        self._library = _EspeakLibrary.load(
            espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
        )

    def voice_for(self, line: SpeechLine, language: str) -> tuple[str, int]:
        """The eSpeak voice ("en+f3") and pitch (0-99) for a line."""
        base = (language or "en").split("-")[0].lower()
        base = base if base in ESPEAK_LANGUAGES else "en"
        if not line.speaker:
            return base, 45
        hint = gender_of(line.voice)
        variants: tuple[str, ...]
        if hint == "female":
            variants = ("f2", "f3", "f4")
        elif hint == "male":
            variants = ("m2", "m3", "m4")
        else:
            variants = ("m1", "f1", "m7", "f5")
        pick = _pick(line.speaker, len(variants) * 3)
        return f"{base}+{variants[pick % len(variants)]}", (35, 50, 65)[pick // len(variants)]

    def _speak(self, line: SpeechLine, text: str, language: str) -> _Pcm:
        voice, pitch = self.voice_for(line, language)
        if self._library is not None:
            return self._library.speak(text, voice, pitch)
        with tempfile.TemporaryDirectory(prefix="panelflow-espeak-") as folder:
            output = os.path.join(folder, "line.wav")
            # The text goes through stdin: no argument parsing can mistake it for an option.
            command = [self.binary, "-v", voice, "-p", str(pitch), "-w", output, "--stdin"]
            self._run(command, stdin=text.encode("utf-8"))
            return _read_wav(output)


class _EspeakLibrary:
    """libespeak-ng through ctypes; one process-wide instance, used under a lock."""

    _instance: _EspeakLibrary | None = None
    _lock = threading.Lock()
    _SYNCHRONOUS = 2
    _CHARS_UTF8 = 1
    _PITCH = 3
    _CALLBACK = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
    )

    def __init__(self, library: str, data: str) -> None:
        self._lib = ctypes.CDLL(library)
        self.rate = int(self._lib.espeak_Initialize(self._SYNCHRONOUS, 0, data.encode(), 0))
        if self.rate <= 0:
            raise ConfigurationError(
                f"eSpeak NG could not start with its data at {data}", field="PANELFLOW_VOICE"
            )
        self._chunks: list[bytes] = []
        # Kept on the instance: ctypes must not collect the callback while C holds it.
        self._callback: Callable[..., int] = self._CALLBACK(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def load(cls, library: str, data: str) -> _EspeakLibrary:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls(library, data)
            return cls._instance

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: int) -> int:
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def speak(self, text: str, voice: str, pitch: int) -> _Pcm:
        encoded = text.encode("utf-8") + b"\0"
        with self._lock:
            self._chunks = []
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                # An unknown language: fall back to English rather than fail the panel.
                self._lib.espeak_SetVoiceByName(b"en")
            self._lib.espeak_SetParameter(self._PITCH, pitch, 0)
            status = self._lib.espeak_Synth(
                encoded, len(encoded), 0, 0, 0, self._CHARS_UTF8, None, None
            )
            self._lib.espeak_Synchronize()
            data = b"".join(self._chunks)
        if status != 0:
            raise ProviderError(f"eSpeak NG could not speak the line (status {status})")
        samples = array.array("h")
        samples.frombytes(data)
        return _Pcm(samples, self.rate)


def _pick(name: str, count: int) -> int:
    return (
        int.from_bytes(hashlib.sha256(name.casefold().encode("utf-8")).digest()[:4], "big") % count
    )


def _clean(text: str) -> str:
    """Text safe to hand to an engine: no control characters, one line, at most 1,000 chars."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co") else char for char in text
    )
    text = _SPACE_RE.sub(" ", text).strip()
    if not any(char.isalnum() for char in text):
        return ""
    if len(text) > MAX_LINE_CHARS:
        cut = text[:MAX_LINE_CHARS]
        space = cut.rfind(" ")
        text = cut[:space] if space > MAX_LINE_CHARS // 2 else cut
    return text


def _read_wav(path: str) -> _Pcm:
    try:
        with wave.open(path, "rb") as reader:
            channels, width, rate = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
            )
            frames = reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise ProviderError(f"The voice engine wrote no readable audio: {error}") from error
    if width == 1:
        # 8-bit WAV is unsigned.
        samples = array.array("h", ((value - 128) << 8 for value in frames))
    elif width == 2:
        samples = array.array("h")
        samples.frombytes(frames)
        if sys.byteorder == "big":
            samples.byteswap()
    else:
        raise ProviderError(f"The voice engine wrote {width * 8}-bit audio; expected 16-bit")
    if channels > 1:
        samples = array.array(
            "h",
            (
                sum(samples[index : index + channels]) // channels
                for index in range(0, len(samples), channels)
            ),
        )
    return _Pcm(samples, rate)


def _resample(clip: _Pcm, rate: int) -> array.array[int]:
    """Linear interpolation to ``rate``; speech at 8-22 kHz needs nothing finer."""
    source = clip.samples
    if clip.rate == rate or len(source) < 2:
        return source
    count = len(source) * rate // clip.rate
    step = clip.rate / rate
    last = len(source) - 1
    result = array.array("h", bytes(2 * count))
    for index in range(count):
        position = index * step
        left = int(position)
        if left >= last:
            result[index] = source[last]
            continue
        fraction = position - left
        result[index] = int(source[left] + (source[left + 1] - source[left]) * fraction)
    return result


def _mp3(pcm: array.array[int]) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(MP3_KBPS)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_channels(1)
    encoder.set_quality(MP3_QUALITY)
    data = pcm
    if sys.byteorder == "big":
        data = array.array("h", pcm)
        data.byteswap()
    return bytes(encoder.encode(data.tobytes()) + encoder.flush())
