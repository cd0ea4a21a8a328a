"""A local fake of Cloud Text-to-Speech's gRPC service (``SynthesizeSpeech``, ``ListVoices``).

Served by grpc on 127.0.0.1 with a generic handler that (de)serialises the real
``google.cloud.texttospeech_v1`` messages. It records every request, answers with a real MP3
(a tone whose length follows the text, encoded with lameenc) or LINEAR16 (a WAV file), and
can be told to fail the next calls with given status codes. Like the real service it refuses
input over 5,000 bytes, a sentence that is too long whatever the byte count, a voice it does
not list, and MP3 from voices that produce LINEAR16 only (``pcm_only``: Chirp 3 HD here).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
import time
import wave
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
import lameenc
from google.cloud.texttospeech_v1 import (
    AudioEncoding,
    ListVoicesRequest,
    ListVoicesResponse,
    SsmlVoiceGender,
    SynthesizeSpeechRequest,
    SynthesizeSpeechResponse,
    Voice,
)

SERVICE = "google.cloud.texttospeech.v1.TextToSpeech"
MAX_INPUT_BYTES = 5_000
# The service does not publish its sentence limit; the fake refuses sentences above this.
MAX_SENTENCE_BYTES = 400
DEFAULT_RATE = 24_000
TOO_LONG = (
    "This request contains sentences that are too long. Consider splitting up long sentences "
    "with sentence ending punctuation e.g. periods."
)
_SENTENCE = re.compile(r"[^.!?\u3002\uff01\uff1f]+[.!?\u3002\uff01\uff1f]*")


def catalogue() -> dict[str, str]:
    """Voice name -> gender ('female', 'male', 'neutral'): the defaults Panelflow ships and a
    few other names tests use."""
    from panelflow.domain.voices import VOICES_BY_TIER

    voices: dict[str, str] = {}
    for tier in VOICES_BY_TIER.values():
        for voice_set in tier.values():
            voices[voice_set.narrator] = "neutral"
            voices.update({name: "female" for name in voice_set.female})
            voices.update({name: "male" for name in voice_set.male})
    for name in (
        "en-AU-Wavenet-B",
        "en-GB-Neural2-A",
        "en-GB-Wavenet-B",
        "en-US-Neural2-F",
        "fr-FR-Neural2-B",
    ):
        voices.setdefault(name, "neutral")
    return voices


def longest_sentence_bytes(text: str) -> int:
    return max(
        (len(m.group(0).strip().encode("utf-8")) for m in _SENTENCE.finditer(text)), default=0
    )


@dataclass(frozen=True)
class Served:
    text: str
    voice: str
    language_code: str
    audio: bytes
    # Samples of tone encoded (the MP3 holds at least this many, plus encoder padding).
    samples: int
    sample_rate: int

    @property
    def tone_ms(self) -> float:
        return self.samples * 1000 / self.sample_rate


def tone_ms(text: str) -> int:
    """How long the fake 'speaks' a text: 200 ms plus 10 ms a character, at most 6 s."""
    return min(200 + 10 * len(text), 6_000)


def make_pcm(text: str, voice: str, sample_rate: int = DEFAULT_RATE) -> tuple[bytes, int]:
    """(16-bit mono PCM, sample count): a tone at a pitch set by the voice, deterministic."""
    samples = sample_rate * tone_ms(text) // 1000
    pitch = 180 + int(hashlib.sha256(voice.encode()).hexdigest()[:4], 16) % 300
    pcm = bytearray()
    for n in range(samples):
        value = int(6000 * math.sin(2 * math.pi * pitch * n / sample_rate))
        pcm += value.to_bytes(2, "little", signed=True)
    return bytes(pcm), samples


def make_wav(text: str, voice: str, sample_rate: int = DEFAULT_RATE) -> tuple[bytes, int]:
    """(LINEAR16 as the service sends it: a WAV file, sample count)."""
    pcm, samples = make_pcm(text, voice, sample_rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue(), samples


def make_mp3(text: str, voice: str, sample_rate: int = DEFAULT_RATE) -> tuple[bytes, int]:
    """(MP3 bytes, sample count): a tone at a pitch set by the voice, deterministic."""
    pcm, samples = make_pcm(text, voice, sample_rate)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(32)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_out_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(bytes(pcm)) + encoder.flush()), samples


class FakeTextToSpeech:
    """The fake server; use as a context manager or call start() and stop()."""

    def __init__(self) -> None:
        # Voice name -> gender; a request for another voice is refused.
        self.voices: dict[str, str] = catalogue()
        self.requests: list[SynthesizeSpeechRequest] = []
        self.list_calls = 0
        self.served: list[Served] = []
        self._failures: deque[tuple[grpc.StatusCode, str]] = deque()
        self._delays: deque[float] = deque()
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def fail_next(self, *codes: grpc.StatusCode, message: str = "") -> None:
        """The next calls fail with these codes, in order; later calls succeed again."""
        with self._lock:
            self._failures.extend((code, message or f"fake {code.name}") for code in codes)

    def exhaust_quota_next(self, quota_id: str, quota_value: str, times: int = 1) -> None:
        """The next calls fail with RESOURCE_EXHAUSTED carrying a google.rpc.QuotaFailure,
        as a rich gRPC status (the details trailer the client libraries decode)."""
        with self._lock:
            self._failures.extend([("quota", quota_id, quota_value)] * times)  # type: ignore[list-item]

    def delay_next(self, *seconds: float) -> None:
        with self._lock:
            self._delays.extend(seconds)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.served.clear()
            self._failures.clear()
            self._delays.clear()

    def start(self) -> FakeTextToSpeech:
        handler = grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "SynthesizeSpeech": grpc.unary_unary_rpc_method_handler(
                    self._synthesize,
                    request_deserializer=SynthesizeSpeechRequest.deserialize,
                    response_serializer=SynthesizeSpeechResponse.serialize,
                ),
                "ListVoices": grpc.unary_unary_rpc_method_handler(
                    self._list_voices,
                    request_deserializer=ListVoicesRequest.deserialize,
                    response_serializer=ListVoicesResponse.serialize,
                ),
            },
        )
        server = grpc.server(ThreadPoolExecutor(max_workers=16))
        server.add_generic_rpc_handlers((handler,))
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None

    def __enter__(self) -> FakeTextToSpeech:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _synthesize(
        self, request: SynthesizeSpeechRequest, context: grpc.ServicerContext
    ) -> SynthesizeSpeechResponse:
        with self._lock:
            self.requests.append(request)
            failure = self._failures.popleft() if self._failures else None
            delay = self._delays.popleft() if self._delays else 0.0
        if delay:
            time.sleep(delay)
        if failure is not None and failure[0] == "quota":
            _abort_with_quota(context, *failure[1:])  # type: ignore[misc]
        if failure is not None:
            context.abort(*failure)
        text = request.input.text or request.input.ssml
        if len(text.encode("utf-8")) > MAX_INPUT_BYTES:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "Either `input.text` or `input.ssml` is longer than the limit of 5000 bytes.",
            )
        if longest_sentence_bytes(text) > MAX_SENTENCE_BYTES:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, TOO_LONG)
        voice = request.voice.name
        if voice not in self.voices:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Voice '{voice}' does not exist.")
        encoding = request.audio_config.audio_encoding
        if pcm_only(voice) and encoding != AudioEncoding.LINEAR16:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Voice '{voice}' does not support the requested audio encoding.",
            )
        rate = request.audio_config.sample_rate_hertz or DEFAULT_RATE
        if encoding == AudioEncoding.LINEAR16:
            audio, samples = make_wav(text, voice, rate)
        else:
            audio, samples = make_mp3(text, voice, rate)
        with self._lock:
            self.served.append(
                Served(
                    text=text,
                    voice=request.voice.name,
                    language_code=request.voice.language_code,
                    audio=audio,
                    samples=samples,
                    sample_rate=rate,
                )
            )
        return SynthesizeSpeechResponse(audio_content=audio)

    def _list_voices(
        self, request: ListVoicesRequest, context: grpc.ServicerContext
    ) -> ListVoicesResponse:
        genders = {
            "female": SsmlVoiceGender.FEMALE,
            "male": SsmlVoiceGender.MALE,
            "neutral": SsmlVoiceGender.NEUTRAL,
        }
        with self._lock:
            self.list_calls += 1
            voices = dict(self.voices)
        return ListVoicesResponse(
            voices=[
                Voice(
                    name=name,
                    language_codes=["-".join(name.split("-")[:2])],
                    ssml_gender=genders[gender],
                    natural_sample_rate_hertz=DEFAULT_RATE,
                )
                for name, gender in sorted(voices.items())
                if not request.language_code or name.startswith(request.language_code)
            ]
        )


def pcm_only(voice: str) -> bool:
    return "-Chirp3-HD-" in voice or "-Journey-" in voice


def _abort_with_quota(context: grpc.ServicerContext, quota_id: str, quota_value: str) -> None:
    from google.protobuf import any_pb2
    from google.rpc import code_pb2, error_details_pb2, status_pb2
    from grpc_status import rpc_status

    violation = error_details_pb2.QuotaFailure.Violation(
        quota_metric="texttospeech.googleapis.com/all_requests",
        quota_id=quota_id,
        quota_value=int(quota_value),
    )
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.QuotaFailure(violations=[violation]))
    status = status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED, message="Quota exceeded.", details=[detail]
    )
    context.abort_with_status(rpc_status.to_status(status))
