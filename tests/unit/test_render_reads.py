"""What the panel step reads: the claim brings the job and the previous panel, character
sheets are downloaded once per instance, and the cancel check is not repeated while the
claim's read is fresh."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from panelflow.bootstrap import Services
from panelflow.domain.errors import JobCancelled
from panelflow.domain.models import JobRequest, JobStatus
from panelflow.services import rendering
from panelflow.services.jobs import start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel

STORY = "Ada walks to the harbour. Ada waves at the boats. Ada sits on the pier. Ada smiles."


def _planned(services: Services, panels: int) -> str:
    request = JobRequest(story=STORY, style="noir", panels=panels, language="en")
    job_id = start_job(services, "user-1", request).job_id
    services.queue.panels.clear()
    plan_job(services, job_id)
    return job_id


def test_panels_of_one_job_download_each_sheet_once_even_at_once(services: Services) -> None:
    job_id = _planned(services, panels=4)
    # Characters who appear in a panel have a sheet.
    sheets = [c.reference_path for c in services.store.get_job(job_id).characters]
    sheets = [path for path in sheets if path]
    assert sheets
    fetched: Counter[str] = Counter()
    original = services.blobs.get
    gate = threading.Barrier(4, timeout=5)

    def counted(path: str) -> bytes:
        fetched[path] += 1
        return original(path)

    services.blobs.get = counted  # type: ignore[method-assign]
    queued = [index for job, index in services.queue.panels if job == job_id]

    def render(index: int) -> None:
        gate.wait()  # the four panels start together, as a fan-out delivers them
        render_panel(services, job_id, index)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(render, queued))
    assert services.store.get_job(job_id).status == JobStatus.COMPLETED
    assert fetched == Counter(dict.fromkeys(sheets, 1))


def test_a_failed_sheet_download_is_tried_again() -> None:
    cache = rendering.SheetCache(size=2)
    calls = []

    class Blobs:
        def get(self, path: str) -> bytes:
            calls.append(path)
            if len(calls) == 1:
                raise OSError("storage hiccup")
            return b"sheet"

    class Deps:
        blobs = Blobs()

    with contextlib.suppress(OSError):
        cache.get(Deps(), "a")  # type: ignore[arg-type]
    assert cache.get(Deps(), "a") == b"sheet"  # type: ignore[arg-type]
    assert cache.get(Deps(), "a") == b"sheet"  # type: ignore[arg-type]
    assert calls == ["a", "a"]
    for path in ("b", "c"):  # the oldest is dropped beyond the size
        cache.get(Deps(), path)  # type: ignore[arg-type]
    cache.get(Deps(), "a")  # type: ignore[arg-type]
    assert calls == ["a", "a", "b", "c", "a"]


def test_the_claims_read_of_the_job_is_the_cancel_check_only_while_fresh(
    services: Services,
) -> None:
    job_id = _planned(services, panels=1)
    reads = []
    original = services.store.get_job

    def counted(job: str):
        reads.append(job)
        return original(job)

    services.store.get_job = counted  # type: ignore[method-assign]
    read = rendering.JobRead(time.monotonic())
    rendering.ensure_active(services, job_id, read)
    assert reads == []  # the claim read the job a moment ago
    read.valid = False  # a paid call of the panel ended: the next one reads the job
    rendering.ensure_active(services, job_id, read)
    assert reads == [job_id]
    stale = rendering.JobRead(time.monotonic() - rendering.FRESH_CHECK_S)
    rendering.ensure_active(services, job_id, stale)
    assert reads == [job_id, job_id]
    services.store.transition_job(job_id, [JobStatus.RENDERING], JobStatus.CANCELLED)
    with pytest.raises(JobCancelled):
        rendering.ensure_active(services, job_id, rendering.JobRead(time.monotonic() - 1))


def test_a_claim_reads_the_job_and_the_previous_panel_with_the_panel(services: Services) -> None:
    job_id = _planned(services, panels=2)
    claim = services.store.claim_panel(job_id, 1, "w1", 60)
    assert claim.job is not None and claim.job.status == JobStatus.RENDERING
    assert claim.previous is not None and claim.previous.index == 0
    assert claim.previous.lease_owner is None and claim.previous.attempts == 0


def _counting_finished_checks(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []
    original = services.store.finished_counts

    def counted(job_id: str, panel_count: int):
        asked.append(job_id)
        return original(job_id, panel_count)

    monkeypatch.setattr(services.store, "finished_counts", counted)
    return asked


def test_panels_drawn_together_here_ask_finished_yet_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _planned(services, panels=3)
    asked = _counting_finished_checks(services, monkeypatch)
    # The three panels are drawn at once: each image call waits until all three are in.
    together = threading.Barrier(3, timeout=10)
    services.images._fail = lambda _key: (together.wait(), None)[1]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda index: render_panel(services, job_id, index), range(3)))
    job = services.store.get_job(job_id)
    assert (job.status, job.panels_done, job.panels_failed) == (JobStatus.COMPLETED, 3, 0)
    # Every panel was finished here: the last to leave knew the job was finished and asked
    # nothing; the first panel's time came from what this process remembered.
    assert asked == [] and 0 <= job.timings["firstPanelMs"] <= job.timings["totalMs"]
    # Drawn one after another, the first leaves with its sibling unfinished and asks; the
    # second has finished both here, so it knows.
    services.images._fail = None
    other = _planned(services, panels=2)
    for index in range(2):
        render_panel(services, other, index)
    assert asked == [other]
    assert services.store.get_job(other).status == JobStatus.COMPLETED


def test_the_last_panel_drawn_here_ends_the_job_in_its_own_record(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process drew every other panel: the record of the last one carries the job's
    final move (no separate move, no query), and the job is announced once."""
    job_id = _planned(services, panels=3)
    store = services.store
    moves: list[str] = []
    finalize = store.finalize_job
    monkeypatch.setattr(
        store, "finalize_job", lambda job, *rest: moves.append(job) or finalize(job, *rest)
    )
    for index in range(3):
        render_panel(services, job_id, index)
    job = store.get_job(job_id)
    assert (job.status, job.panels_done, job.panels_failed) == (JobStatus.COMPLETED, 3, 0)
    assert moves == [] and store.final_transitions == [(job_id, JobStatus.COMPLETED)]
    assert services.queue.finished == [job_id]
    first = min(store.finished_at[(job_id, index)] for index in range(3))
    assert job.timings["firstPanelMs"] == int((first - job.created_at) * 1000)


def test_a_panel_drawn_again_after_its_job_ended_here_still_ends_the_job(
    services: Services,
) -> None:
    """What a closed job leaves behind is forgotten with its last panel: a panel of the
    same generation drawn again later (a lease that expired under a worker that died, as
    the sweeper sees it) ends the job the usual way."""
    from panelflow.domain.models import PanelStatus

    job_id = _planned(services, panels=2)
    for index in range(2):
        render_panel(services, job_id, index)
    store = services.store
    assert store.get_job(job_id).status == JobStatus.COMPLETED
    store.jobs[job_id].status = JobStatus.RENDERING
    store.panels[job_id][1].status = PanelStatus.PENDING
    render_panel(services, job_id, 1)
    job = store.get_job(job_id)
    assert (job.status, job.panels_done) == (JobStatus.COMPLETED, 2)


def test_a_panel_finished_elsewhere_makes_the_worker_ask(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from panelflow.domain.models import PanelAssets

    job_id = _planned(services, panels=2)
    asked = _counting_finished_checks(services, monkeypatch)
    # Panel 0 is drawn by another instance: this process knows nothing of it.
    services.store.claim_panel(job_id, 0, "elsewhere", 60)
    image = services.blobs.put(f"jobs/{job_id}/elsewhere.png", b"png", "image/png")
    services.store.complete_panel(job_id, 0, "elsewhere", PanelAssets(image, None, ()))
    render_panel(services, job_id, 1)
    assert asked == [job_id]
    job = services.store.get_job(job_id)
    assert (job.status, job.panels_done) == (JobStatus.COMPLETED, 2)


def test_what_a_worker_remembers_is_per_generation(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A panel failed here, then retried and drawn elsewhere, must not count as failed when
    a later generation's panels are finished here: the worker asks instead."""
    from panelflow.domain.errors import ContentBlocked
    from panelflow.domain.models import PanelAssets

    job_id = _planned(services, panels=2)
    store = services.store
    image = services.blobs.put(f"jobs/{job_id}/elsewhere.png", b"png", "image/png")

    def drawn_elsewhere(index: int) -> None:
        store.claim_panel(job_id, index, "elsewhere", 60)
        assert store.complete_panel(job_id, index, "elsewhere", PanelAssets(image, None, ()))

    asked = _counting_finished_checks(services, monkeypatch)
    services.images._fail = lambda key: ContentBlocked("blocked") if key == "panel:0" else None
    render_panel(services, job_id, 0)  # failed here, and remembered so
    services.images._fail = None
    drawn_elsewhere(1)
    assert store.finalize_job(job_id, 1, 1) == JobStatus.PARTIAL  # moved elsewhere
    # Panel 0 retried (a new generation) and drawn elsewhere.
    assert store.requeue_panels(job_id, [0], [JobStatus.PARTIAL])
    drawn_elsewhere(0)
    assert store.finalize_job(job_id, 2, 0) == JobStatus.COMPLETED
    # Panel 1 edited (another generation) and redrawn here: of this generation, this
    # process finished panel 1 only, so it asks, and the job counts panel 0 as done.
    assert store.requeue_panels(job_id, [1], [JobStatus.COMPLETED], regenerate=True)
    asked.clear()
    render_panel(services, job_id, 1)
    assert asked == [job_id]
    job = store.get_job(job_id)
    assert (job.status, job.panels_done, job.panels_failed) == (JobStatus.COMPLETED, 2, 0)


def test_a_sibling_that_fails_over_leaves_the_final_move_to_its_redelivery(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from panelflow.domain.errors import TransientError

    job_id = _planned(services, panels=2)
    asked = _counting_finished_checks(services, monkeypatch)
    recorded, failing = threading.Event(), threading.Event()

    def image(key: str) -> Exception | None:
        if key == "panel:1":
            failing.set()
            recorded.wait(10)  # panel 0 is recorded (and skips its check) meanwhile
            return TransientError("the image model is busy")
        return None

    services.images._fail = image
    with ThreadPoolExecutor(max_workers=2) as pool:
        second = pool.submit(render_panel, services, job_id, 1)
        assert failing.wait(10)
        render_panel(services, job_id, 0)
        assert asked == []  # panel 1 was still being drawn here when panel 0 was recorded
        recorded.set()
        with pytest.raises(TransientError):
            second.result()
    assert services.store.get_job(job_id).status == JobStatus.RENDERING
    services.images._fail = None
    render_panel(services, job_id, 1)  # the redelivery
    # Both panels were finished here by then: the redelivery knows the job is finished.
    assert asked == [] and services.store.get_job(job_id).status == JobStatus.COMPLETED
