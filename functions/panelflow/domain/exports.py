"""Exports of a finished job: their states, ids and where their files are stored.

An export's id is derived from what it shows: the job's generation (a fingerprint of every
panel's words and assets), the format, the layout and the panels chosen. Asking twice for
the same export finds the first; a job changed since (an edit, a regenerated panel) has a
new generation, so the same request makes a new export.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from panelflow.domain.models import Job, Panel

# Bumped when a writer's output changes, so an old file is not handed out for a new request.
EXPORT_VERSION = 2
EXTENSIONS = {"pdf": "pdf", "cbz": "cbz", "mp4": "mp4"}
# Deliveries of one export message before the export is failed for good.
MAX_EXPORT_ATTEMPTS = 5


class ExportStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class Export:
    export_id: str
    job_id: str
    format: str
    layout: str
    # Panel indexes in the order the export shows them.
    panels: list[int]
    generation: str
    status: ExportStatus = ExportStatus.QUEUED
    progress: float = 0.0
    error: dict[str, str] | None = None
    path: str = ""
    size: int = 0
    attempts: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "exportId": self.export_id,
            "jobId": self.job_id,
            "format": self.format,
            "layout": self.layout,
            "panels": list(self.panels),
            "generation": self.generation,
            "status": self.status.value,
            "progress": self.progress,
            "error": self.error,
            "attempts": self.attempts,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if self.path:
            data.update(path=self.path, size=self.size)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Export:
        return cls(
            export_id=data["exportId"],
            job_id=data["jobId"],
            format=data["format"],
            layout=data["layout"],
            panels=[int(index) for index in data.get("panels") or []],
            generation=data.get("generation", ""),
            status=ExportStatus(data.get("status", "queued")),
            progress=float(data.get("progress", 0.0)),
            error=data.get("error"),
            path=data.get("path", ""),
            size=int(data.get("size", 0)),
            attempts=int(data.get("attempts", 0)),
            created_at=float(data.get("createdAt") or 0.0),
            updated_at=float(data.get("updatedAt") or 0.0),
        )


def job_generation(job: Job, panels: Sequence[Panel]) -> str:
    """A fingerprint of everything an export of the job shows: any edit changes it."""
    shown = [
        {
            "index": panel.index,
            "status": panel.status.value,
            "generation": panel.generation,
            "image": panel.image.path if panel.image else "",
            "audio": panel.audio.path if panel.audio else "",
            "caption": panel.caption,
            "narration": panel.narration,
            "dialogue": [vars(line) for line in panel.dialogue],
        }
        for panel in panels
    ]
    text = json.dumps(
        [EXPORT_VERSION, job.job_id, job.title, job.language, shown],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def export_id(generation: str, format: str, layout: str, panels: Sequence[int]) -> str:
    """The export's id: the same for the same request on the same generation of the job."""
    key = f"{generation}|{format}|{layout}|{','.join(str(i) for i in panels)}"
    return f"{format}-{layout}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def export_path(job_id: str, export: Export) -> str:
    """Where the file is stored: under the job's prefix, so deleting the job deletes it."""
    return f"jobs/{job_id}/exports/{export.export_id}.{EXTENSIONS[export.format]}"
