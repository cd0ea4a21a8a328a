"""The benchmark's own parts: drawn latencies, what the simulated providers sleep, the ideal
computed from the call log, and the report table."""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path

import report

import bench
from panelflow.adapters.simulated import (
    SimulatedImageGenerator,
    SimulatedSpeechSynthesizer,
    SimulatedStoryPlanner,
    SimulationConfig,
    directive,
)
from panelflow.domain.models import PanelRequest, SpeechLine


def test_draws_are_seeded_and_follow_the_stated_distributions() -> None:
    first = bench.realistic_draws(30, 8, seed=14)
    assert first == bench.realistic_draws(30, 8, seed=14)
    assert first != bench.realistic_draws(30, 8, seed=15)
    images = [v for job in first for v in job["image"]]
    # Median 8 s and p95 20 s: sigma = ln(20/8)/1.645; 240 draws land near both.
    assert bench.REALISTIC["image"][1] == math.log(20 / 8) / 1.645
    assert 6.5 < statistics.median(images) < 9.5
    assert 14 < bench.percentile(images, 95) < 28
    plans = [job["plan"] for job in first]
    assert 4.5 < statistics.median(plans) < 7.5


def test_the_story_directive_reaches_every_provider_call(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    config = SimulationConfig({"PANELFLOW_SIM_CALL_LOG": str(log), "PANELFLOW_SIM_PLAN_S": "5"})
    draw = {
        "job": "j1",
        "plan": 0.01,
        "sheet": 0.02,
        "image": [0.03, 0.09],
        "speech": [0.05, 0.04],
    }
    started = time.perf_counter()
    plan = SimulatedStoryPlanner(config).plan(
        bench.realistic_story(draw, 2), panels=2, style="storybook", language="en"
    )
    assert time.perf_counter() - started < 1  # the story's plan time, not the default 5 s
    assert [directive(p.scene)["image"] for p in plan.panels] == ["0.03", "0.09"]
    assert [directive(p.narration)["speech"] for p in plan.panels] == ["0.05", "0.04"]
    images = SimulatedImageGenerator(config)
    for character in plan.characters:
        images.character_sheet(character, style="storybook")
    for panel in plan.panels:
        started = time.perf_counter()
        images.panel(PanelRequest(panel, "storybook", plan.characters, {}))
        assert time.perf_counter() - started >= float(directive(panel.scene)["image"])
        SimulatedSpeechSynthesizer(config).synthesize(
            [SpeechLine(text=panel.narration)], language="en"
        )
    ideals = bench.slept_ideals(log)
    # plan + the sheet + the slowest image or speech of any panel
    assert ideals == {"j1": 0.01 + 0.02 + 0.09}
    assert ideals["j1"] == bench.drawn_ideal(draw)


def test_a_story_without_directive_sleeps_the_configured_times(tmp_path: Path) -> None:
    config = SimulationConfig({"PANELFLOW_SIM_PLAN_S": "0", "PANELFLOW_SIM_IMAGE_S": "0.05"})
    plan = SimulatedStoryPlanner(config).plan(
        bench.story(1), panels=1, style="storybook", language="en"
    )
    assert directive(plan.panels[0].scene) == {}
    started = time.perf_counter()
    SimulatedImageGenerator(config).panel(PanelRequest(plan.panels[0], "storybook", (), {}))
    assert time.perf_counter() - started >= 0.05


def test_report_marks_each_goal_per_run(tmp_path: Path) -> None:
    runs = [
        {"efficiency_ratio": 1.05, "realistic_ratio_p95": 1.02, "cold_start_s": {"api": 0.5}},
        {"efficiency_ratio": 1.2, "realistic_ratio_p95": 1.01, "cold_start_s": {"api": 0.6}},
    ]
    for n, run in enumerate(runs):
        (tmp_path / f"run-2026010{n}T000000Z.json").write_text(json.dumps(run))
    loaded = report.load(tmp_path, 3)
    assert [run["efficiency_ratio"] for run in loaded] == [1.05, 1.2]
    table = report.table(loaded)
    row = next(line for line in table.splitlines() if "`efficiency_ratio`" in line)
    assert "1.05 ✓" in row and "**1.2 ✗**" in row
    assert "missed: efficiency_ratio" in table.splitlines()[-1]
    assert "all met" in table.splitlines()[-1]
