"""The fault drills of `make faults`, at a small size: every guarantee must hold."""

from __future__ import annotations

from pathlib import Path

import pytest

import faults

# The drill bounds its own waits; a loaded machine may need more than the default 300 s.
pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]


def test_fault_drills_hold_every_guarantee(tmp_path: Path) -> None:
    results = faults.run(faults.SMALL, seed=11, state_dir=tmp_path)
    assert results["double_counted"] == 0 and results["kill_double_counted"] == 0
    assert results["double_paid"] == 0 and results["flaky_double_paid"] == 0
    assert results["unpaid_panels"] == 0
    assert results["duplicate_jobs_completed"] == faults.SMALL.duplicate_jobs
    assert results["jobs_terminal"] == results["jobs_total"] == faults.SMALL.kill_jobs
    assert results["jobs_stuck"] == 0
    assert results["kills"] >= 1
    assert results["transient_completed_ratio"] == 1.0
    assert results["transient_failure_share"] > 0.1  # the flaky provider really failed
    assert results["permanent_terminal_ratio"] == 1.0
    assert results["blocked_attempts_per_panel"] == 1.0  # permanent errors are not retried
    assert results["cancelled_jobs"] == faults.SMALL.cancel_jobs
    assert results["calls_after_cancel"] == 0
