"""Group commit: calls that arrive while one is in flight go out together as one.

The panels of a job reach a worker within milliseconds of each other, and each claims its
panel (and later records it) with its own commit. A dozen commits at once queue up in
Firestore (and in its emulator, where a dozen claims took 80-170 ms against 30-50 ms as one
batch). ``Grouped`` runs the first call at once, alone; calls arriving while it is in flight
wait for it, then go out together as the next group, led by one of them. A lone call never
waits, and a burst costs a few round trips instead of one per call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot(Generic[Item, Result]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None


class Grouped(Generic[Item, Result]):
    """Calls ``run(items)`` for groups of items submitted from many threads.

    ``run`` answers one result per item, in order; if it raises, every call of the group
    raises the same error. At most ``largest`` items go in one group (Firestore takes at
    most 500 writes in a commit).
    """

    def __init__(
        self, run: Callable[[Sequence[Item]], Sequence[Result]], largest: int = 40
    ) -> None:
        self._run = run
        self._largest = largest
        self._changed = threading.Condition()
        self._waiting: list[_Slot[Item, Result]] = []
        self._running = False
        # Groups run and items sent, for tests and probes.
        self.groups = 0
        self.items = 0

    def __call__(self, item: Item) -> Result:
        slot: _Slot[Item, Result] = _Slot(item)
        group: list[_Slot[Item, Result]] = []
        with self._changed:
            self._waiting.append(slot)
            while not slot.done and self._running:
                self._changed.wait()
            if not slot.done:
                # Nobody is in flight: this call leads the next group, itself first.
                self._running = True
                self._waiting.remove(slot)
                group = [slot, *self._waiting[: self._largest - 1]]
                del self._waiting[: self._largest - 1]
                self.groups += 1
                self.items += len(group)
        if group:
            self._lead(group)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _lead(self, group: list[_Slot[Item, Result]]) -> None:
        try:
            results = self._run([slot.item for slot in group])
        except BaseException as error:  # every caller of the group sees it
            for slot in group:
                slot.error = error
        else:
            for slot, result in zip(group, results, strict=True):
                slot.result = result
        with self._changed:
            for slot in group:
                slot.done = True
            self._running = False
            self._changed.notify_all()
