"""Simulated providers: real-shaped output after a configurable sleep, for benchmarks and
fault drills on the local stack (``PANELFLOW_PROVIDERS=simulated``). They never spin the CPU,
so measured times show the pipeline's overhead, not the machine's speed.

Every call can be appended to a log file (``PANELFLOW_SIM_CALL_LOG``), one JSON line each,
so a test in another process can count exactly what was paid for.

A story may carry its own latencies, so one stack serves fixed and drawn scenarios alike:
``[sim job=J plan=6.1 sheet=7.9 image=8.2,5.1 speech=1.4,1.6]`` anywhere in the story sets
the planner's sleep, every character sheet's, and each panel's image and speech sleep (by
panel index). The planner stamps each panel's scene and narration and each character's
description with its own values (``[sim job=J image=8.2]``), which the image and speech
providers read; the call log records them (``sim``), so a benchmark can compute the ideal
time of each job from exactly what was slept.

A call's latency covers making its output, as a remote service's does: the plan, the
picture and the sound are made first and the call sleeps only what is left of its time.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

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
T = TypeVar("T")
# A panel whose scene contains one of these fails that way, every time.
BLOCK_MARK = "SIMULATE-BLOCK"
CRASH_MARK = "SIMULATE-CRASH"
# Calls for a panel with this mark fail transiently at PANELFLOW_SIM_FLAKY_RATE.
FLAKY_MARK = "SIMULATE-FLAKY"
# Attempts inside one provider call, as an SDK's own retry would make.
IN_CALL_ATTEMPTS = 3


_DIRECTIVE = re.compile(r"\[sim ([^\]]*)\]")


def directive(text: str) -> dict[str, str]:
    """The ``[sim key=value ...]`` directive in ``text`` (empty when there is none)."""
    match = _DIRECTIVE.search(text)
    if match is None:
        return {}
    return dict(part.split("=", 1) for part in match.group(1).split() if "=" in part)


def strip_directive(text: str) -> str:
    return _DIRECTIVE.sub("", text).strip()


def _drawn(text: str, kind: str, default: float) -> float:
    value = directive(text).get(kind)
    return float(value) if value is not None else default


def _stamp(text: str, job: str, kind: str, values: list[str], index: int) -> str:
    if not values:
        return text
    return f"[sim job={job} {kind}={values[min(index, len(values) - 1)]}] {text}"


class SimulationConfig:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.plan_s = float(env.get("PANELFLOW_SIM_PLAN_S", "1.0"))
        self.image_s = float(env.get("PANELFLOW_SIM_IMAGE_S", "2.0"))
        self.speech_s = float(env.get("PANELFLOW_SIM_SPEECH_S", "0.5"))
        self.call_log = env.get("PANELFLOW_SIM_CALL_LOG", "")
        self.flaky_rate = float(env.get("PANELFLOW_SIM_FLAKY_RATE", "0.3"))
        self._random = random.Random()

    def call(
        self, kind: str, seconds: float, text: str, make: Callable[[], T], **fields: object
    ) -> T:
        """One provider call: makes its output with ``make``, then sleeps what is left of
        its time (the text's own ``[sim]`` value for ``kind`` if it has one), may fail
        transiently (retried in-call), logs; returns the output."""
        started = time.monotonic()
        made = make()
        spent = time.monotonic() - started
        seconds = _drawn(text, kind, seconds)
        sim = directive(text)
        if sim:
            fields = {**fields, "sim": sim, "seconds": seconds}
        for attempt in range(1, IN_CALL_ATTEMPTS + 1):
            self.record(kind, phase="start", text=text[:80], attempt=attempt, **fields)
            time.sleep(max(0.0, seconds - spent) if attempt == 1 else seconds)
            if FLAKY_MARK in text and self._random.random() < self.flaky_rate:
                self.record(kind, phase="transient", text=text[:80], attempt=attempt, **fields)
                time.sleep(0.05 * attempt)
                continue
            self.record(kind, phase="paid", text=text[:80], attempt=attempt, **fields)
            return made
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
        started = time.monotonic()
        sim = directive(story)
        seconds = float(sim.get("plan", self._config.plan_s))
        plan = self._planner.plan(
            strip_directive(story), panels=panels, style=style, language=language
        )
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        if not sim:
            self._config.record("plan", panels=panels)
            return plan
        self._config.record("plan", panels=panels, sim=sim, seconds=seconds)
        return _stamped(plan, sim)

    def translate(self, plan: StoryPlan, *, source_language: str, language: str) -> StoryPlan:
        return self._planner.translate(plan, source_language=source_language, language=language)


def _stamped(plan: StoryPlan, sim: dict[str, str]) -> StoryPlan:
    """The plan with each panel's and each character's own ``[sim]`` values."""
    job = sim.get("job", "")
    images, speech = sim.get("image", "").split(","), sim.get("speech", "").split(",")
    sheets = sim.get("sheet", "").split(",")
    images, speech, sheets = ([v for v in vs if v] for vs in (images, speech, sheets))
    panels = tuple(
        replace(
            panel,
            scene=_stamp(panel.scene, job, "image", images, panel.index),
            narration=_stamp(panel.narration, job, "speech", speech, panel.index),
            caption=_stamp(panel.caption, job, "speech", speech, panel.index),
        )
        for panel in plan.panels
    )
    characters = tuple(
        replace(c, description=_stamp(c.description, job, "sheet", sheets, n))
        for n, c in enumerate(plan.characters)
    )
    return replace(plan, panels=panels, characters=characters)


class SimulatedImageGenerator:
    def __init__(self, config: SimulationConfig | None = None) -> None:
        self._config = config or SimulationConfig()

    def character_sheet(self, character: Character, *, style: str) -> RenderedImage:
        # Reference sheets cost no simulated time unless the story's [sim] directive says.
        def sheet() -> RenderedImage:
            return RenderedImage(data=_tiny_png(len(character.name)), width=64, height=48)

        if directive(character.description):
            return self._config.call(
                "sheet", 0.0, character.description, sheet, name=character.name
            )
        self._config.record("sheet", name=character.name)
        return sheet()

    def panel(self, request: PanelRequest) -> RenderedImage:
        panel = request.panel
        # Drills mark panels in the story text itself, so one stack serves many scenarios.
        if BLOCK_MARK in panel.scene:
            self._config.record("image", phase="blocked", text=panel.scene[:80], panel=panel.index)
            raise ContentBlocked("the simulated image model declined this panel")
        if CRASH_MARK in panel.scene:
            self._config.record("image", phase="crash", text=panel.scene[:80], panel=panel.index)
            raise RuntimeError("simulated crash while drawing")
        return self._config.call(
            "image",
            self._config.image_s,
            panel.scene,
            lambda: RenderedImage(data=_tiny_png(panel.index), width=64, height=48),
            panel=panel.index,
        )


class SimulatedSpeechSynthesizer:
    def __init__(self, config: SimulationConfig | None = None) -> None:
        self._config = config or SimulationConfig()

    def synthesize(self, lines: Sequence[SpeechLine], *, language: str) -> SynthesizedAudio:
        return self._config.call(
            "speech",
            self._config.speech_s,
            " ".join(line.text for line in lines),
            lambda: SynthesizedAudio(
                data=_silent_mp3(200), content_type="audio/mpeg", duration_ms=200
            ),
            lines=len(lines),
        )
