"""The benchmark's write count, on the Firestore emulator: the figures `make bench` prints
come from the store's own client, and match the write pattern the README promises."""

from __future__ import annotations

import pytest

import bench

pytestmark = pytest.mark.emulators


def test_one_job_writes_its_document_three_times_and_each_panel_a_few(
    emulator_env: dict[str, str],
) -> None:
    counts = bench.count_writes(emulator_env, panels=4)
    # Created queued, moved to rendering with its plan, moved to its final state.
    assert counts["job_doc_writes_per_job"] == 3
    # Written with the plan, claimed, done: no per-panel write on the job document.
    assert counts["panel_doc_writes_per_panel"] == 3
    assert counts["firestore_writes_per_panel"] == pytest.approx(3 + 3 / 4)
    # Round trips of the panel step: claim read, claim commit, the done commit (which also
    # writes the panel's paid calls to the ledger) and "finished yet?" per panel but the
    # last (this process finished every panel, so it knows), and the story's expiry once.
    # The final move rides in the last panel's done commit, on the job as the last claim
    # read it (nothing writes the job in between): no commit and no read of its own.
    # The providers here answer at once, so a panel's speech may end before its image call
    # starts: that call then checks the job itself (one more read, at most one a panel).
    calls = counts["firestore_calls_by_method"]
    assert 4 <= calls["batch_get_documents"] <= 4 + 4
    assert calls["commit"] == 4 * 2 + 1 and calls["run_query"] == 4 - 1
    assert set(calls) == {"batch_get_documents", "commit", "run_query"}
    assert 4 <= counts["firestore_calls_per_panel"] <= 5
