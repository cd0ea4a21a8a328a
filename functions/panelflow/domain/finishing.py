"""The final move: how a rendering job ends once every panel is finished."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from panelflow.domain.models import Job, JobStatus, final_status

ALL_PANELS_FAILED = {
    "code": "all_panels_failed",
    "message": "every panel failed; see each panel's error",
}


@dataclass(frozen=True)
class FinalMove:
    """What the job document becomes when its last panel finishes."""

    status: JobStatus
    panels_done: int
    panels_failed: int
    finished_at: float
    total_ms: int
    # From the job's creation to its first panel done; None when no panel was done.
    first_panel_ms: int | None
    # Set only when the job failed as a whole; otherwise the job's error is left as it is.
    error: dict[str, str] | None

    def fields(self) -> dict[str, Any]:
        """The job document fields it writes; nested timings as dotted paths, so the
        other timings (``planMs``) are kept."""
        update: dict[str, Any] = {
            "status": self.status.value,
            "panelsDone": self.panels_done,
            "panelsFailed": self.panels_failed,
            "progress": 1.0,
            "finishedAt": self.finished_at,
            "updatedAt": self.finished_at,
            "timings.totalMs": self.total_ms,
        }
        if self.first_panel_ms is not None:
            update["timings.firstPanelMs"] = self.first_panel_ms
        if self.error is not None:
            update["error"] = dict(self.error)
        return update

    def apply(self, job: Job) -> None:
        """Makes the same change to an in-memory job."""
        job.status = self.status
        job.panels_done, job.panels_failed = self.panels_done, self.panels_failed
        job.finished_at = job.updated_at = self.finished_at
        job.timings["totalMs"] = self.total_ms
        if self.first_panel_ms is not None:
            job.timings["firstPanelMs"] = self.first_panel_ms
        if self.error is not None:
            job.error = dict(self.error)


def final_move(
    job: Job, done: int, failed: int, now: float, first_done_at: float | None
) -> FinalMove | None:
    """The move that ends ``job`` with ``done`` and ``failed`` panels, decided at ``now``.

    Args:
        job: the job as currently stored.
        done: panels done, as counted over the panel documents.
        failed: panels failed, likewise.
        now: the time of the move.
        first_done_at: when the job's first panel was done, if any was.

    Returns:
        The move, or None when the job is not rendering (someone else moved it: the move
        happens exactly once) or the counts do not cover every panel.
    """
    if job.status != JobStatus.RENDERING or done + failed != job.panel_count:
        return None
    created = job.created_at or now
    status = final_status(done, failed)
    return FinalMove(
        status=status,
        panels_done=done,
        panels_failed=failed,
        finished_at=now,
        total_ms=int((now - created) * 1000),
        first_panel_ms=(
            int((first_done_at - created) * 1000) if first_done_at is not None else None
        ),
        error=ALL_PANELS_FAILED if status == JobStatus.FAILED else None,
    )
