"""Simulated providers: real-shaped output after a configurable sleep, for benchmarks and
fault drills on the local stack (``PANELFLOW_PROVIDERS=simulated``). They never spin the CPU,
so measured times show the pipeline's overhead, not the machine's speed.

Every call can be appended to a log file (``PANELFLOW_SIM_CALL_LOG``), one JSON line each,
so a test in another process can count exactly what was paid for.
"""

from __future__ import annotations

import io
import json
import os
import random
import threading
import time
from collections.abc import Mapping, Sequence

from panelflow.domain.errors import ContentBlocked, TransientError
from panelflow.domain.models import (
    Character,
    PanelRequest,
    RenderedImage,
    SpeechLine,
    StoryPlan,
    SynthesizedAudio,
)

_log_lock = threading.Lock()
# A panel whose scene contains one of these fails that way, every time.
BLOCK_MARK = "SIMULATE-BLOCK"
CRASH_MARK = "SIMULATE-CRASH"
# Calls for a panel with this mark fail transiently at PANELFLOW_SIM_FLAKY_RATE.
FLAKY_MARK = "SIMULATE-FLAKY"
# Attempts inside one provider call, as an SDK's own retry would make.
IN_CALL_ATTEMPTS = 3


class SimulationConfig:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.plan_s = float(env.get("PANELFLOW_SIM_PLAN_S", "1.0"))
        self.image_s = float(env.get("PANELFLOW_SIM_IMAGE_S", "2.0"))
        self.speech_s = float(env.get("PANELFLOW_SIM_SPEECH_S", "0.5"))
        self.call_log = env.get("PANELFLOW_SIM_CALL_LOG", "")
        self.flaky_rate = float(env.get("PANELFLOW_SIM_FLAKY_RATE", "0.3"))
        self._random = random.Random()

    def call(self, kind: str, seconds: float, text: str, **fields: object) -> None:
        """One provider call: sleeps, may fail transiently (retried in-call), logs."""
        for attempt in range(1, IN_CALL_ATTEMPTS + 1):
            self.record(kind, phase="start", text=text[:80], attempt=attempt, **fields)
            time.sleep(seconds)
            if FLAKY_MARK in text and self._random.random() < self.flaky_rate:
                self.record(kind, phase="transient", text=text[:80], attempt=attempt, **fields)
                time.sleep(0.05 * attempt)
                continue
            self.record(kind, phase="paid", text=text[:80], attempt=attempt, **fields)
            return
        raise TransientError(f"simulated {kind} service unavailable")

    def record(self, kind: str, **fields: object) -> None:
        if not self.call_log:
            return
        line = json.dumps({"kind": kind, "time": time.time(), "pid": os.getpid(), **fields})
        with _log_lock, open(self.call_log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _tiny_png(seed: int) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (64, 48), ((seed * 47) % 256, (seed * 91) % 256, 160))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _silent_mp3(duration_ms: int) -> bytes:
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(32)
    encoder.set_in_sample_rate(16000)
    encoder.set_channels(1)
    encoder.set_quality(7)
    samples = b"\x00\x00" * (16000 * duration_ms // 1000)
    return bytes(encoder.encode(samples) + encoder.flush())


class SimulatedStoryPlanner:
    def __init__(self, config: SimulationConfig | None = None) -> None:
        from panelflow.adapters.offline.planner import RuleBasedStoryPlanner

        self._config = config or SimulationConfig()
        self._planner = RuleBasedStoryPlanner()

    def plan(self, story: str, *, panels: int, style: str, language: str) -> StoryPlan:
        time.sleep(self._config.plan_s)
        self._config.record("plan", panels=panels)
        return self._planner.plan(story, panels=panels, style=style, language=language)

    def translate(self, plan: StoryPlan, *, source_language: str, language: str) -> StoryPlan:
        return self._planner.translate(plan, source_language=source_language, language=language)


class SimulatedImageGenerator:
    def __init__(self, config: SimulationConfig | None = None) -> None:
        self._config = config or SimulationConfig()

    def character_sheet(self, character: Character, *, style: str) -> RenderedImage:
        # Reference sheets are part of planning here; they cost no extra simulated time.
        self._config.record("sheet", name=character.name)
        return RenderedImage(data=_tiny_png(len(character.name)), width=64, height=48)

    def panel(self, request: PanelRequest) -> RenderedImage:
        panel = request.panel
        # Drills mark panels in the story text itself, so one stack serves many scenarios.
        if BLOCK_MARK in panel.scene:
            self._config.record("image", phase="blocked", text=panel.scene[:80], panel=panel.index)
            raise ContentBlocked("the simulated image model declined this panel")
        if CRASH_MARK in panel.scene:
            self._config.record("image", phase="crash", text=panel.scene[:80], panel=panel.index)
            raise RuntimeError("simulated crash while drawing")
        self._config.call("image", self._config.image_s, panel.scene, panel=panel.index)
        return RenderedImage(data=_tiny_png(panel.index), width=64, height=48)


class SimulatedSpeechSynthesizer:
    def __init__(self, config: SimulationConfig | None = None) -> None:
        self._config = config or SimulationConfig()

    def synthesize(self, lines: Sequence[SpeechLine], *, language: str) -> SynthesizedAudio:
        text = " ".join(line.text for line in lines)
        self._config.call("speech", self._config.speech_s, text, lines=len(lines))
        return SynthesizedAudio(data=_silent_mp3(200), content_type="audio/mpeg", duration_ms=200)
