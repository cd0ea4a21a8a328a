"""Group commit (panelflow.adapters.firestore.grouping): a lone call goes at once; calls
that arrive while one is in flight go out together next."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from panelflow.adapters.firestore.grouping import Grouped


class Recorder:
    """``run`` for Grouped: records each group; the first waits until ``release``."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.groups.append(list(items))
        if len(self.groups) == 1:
            self.started.set()
            assert self.release.wait(10)
        if self.fail_on in items:
            raise RuntimeError("the commit was refused")
        return [item * 10 for item in items]


def test_a_lone_call_goes_at_once_and_alone() -> None:
    run = Recorder()
    run.release.set()
    grouped = Grouped(run)
    assert grouped(4) == 40
    assert grouped(5) == 50
    assert run.groups == [[4], [5]] and (grouped.groups, grouped.items) == (2, 2)


def test_calls_arriving_while_one_is_in_flight_go_together_next() -> None:
    run = Recorder()
    grouped = Grouped(run)
    with ThreadPoolExecutor(max_workers=6) as pool:
        first = pool.submit(grouped, 0)
        assert run.started.wait(10)
        rest = [pool.submit(grouped, item) for item in range(1, 6)]
        while len(grouped._waiting) < 5:  # all five wait behind the one in flight
            time.sleep(0.001)
        run.release.set()
        assert first.result(10) == 0
        assert [future.result(10) for future in rest] == [10, 20, 30, 40, 50]
    assert run.groups[0] == [0]
    assert sorted(run.groups[1]) == [1, 2, 3, 4, 5] and len(run.groups) == 2


def test_a_group_is_never_larger_than_asked() -> None:
    run = Recorder()
    grouped = Grouped(run, largest=2)
    with ThreadPoolExecutor(max_workers=5) as pool:
        first = pool.submit(grouped, 0)
        assert run.started.wait(10)
        rest = [pool.submit(grouped, item) for item in range(1, 5)]
        while len(grouped._waiting) < 4:
            time.sleep(0.001)
        run.release.set()
        assert [f.result(10) for f in [first, *rest]] == [0, 10, 20, 30, 40]
    assert [len(group) for group in run.groups] == [1, 2, 2]


def test_every_call_of_a_failed_group_sees_its_error() -> None:
    run = Recorder(fail_on=3)
    grouped = Grouped(run)
    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(grouped, 1)
        assert run.started.wait(10)
        rest = [pool.submit(grouped, item) for item in (2, 3)]
        while len(grouped._waiting) < 2:
            time.sleep(0.001)
        run.release.set()
        assert first.result(10) == 10
        for future in rest:
            with pytest.raises(RuntimeError, match="refused"):
                future.result(10)
    # The next call is not held up by the failed group.
    assert grouped(7) == 70
