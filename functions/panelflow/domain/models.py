"""Plain data for jobs, panels and plans, with their Firestore shapes."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    # Not written by this version (queued covers planning); kept so older documents load.
    PLANNING = "planning"
    RENDERING = "rendering"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_JOB_STATUSES


TERMINAL_JOB_STATUSES = frozenset(
    {JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED}
)
# The same as the strings clients read from the job document's status.
TERMINAL_STATES = frozenset(status.value for status in TERMINAL_JOB_STATUSES)


def final_status(done: int, failed: int) -> JobStatus:
    """The state a rendering job ends in once every panel is finished."""
    if failed == 0:
        return JobStatus.COMPLETED
    return JobStatus.PARTIAL if done else JobStatus.FAILED


class PanelStatus(str, enum.Enum):
    PENDING = "pending"
    RENDERING = "rendering"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (PanelStatus.DONE, PanelStatus.FAILED)


# Where a speaker stands in the picture; lettering puts the bubble on that side.
SIDES = ("left", "right", "center")


@dataclass(frozen=True)
class DialogueLine:
    speaker: str
    text: str
    side: str = "center"


@dataclass(frozen=True)
class Character:
    name: str
    description: str
    voice: str = ""
    # Storage path of the character's reference sheet, once rendered.
    reference_path: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "description": self.description,
            "voice": self.voice,
            "referencePath": self.reference_path,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Character:
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            voice=data.get("voice", ""),
            reference_path=data.get("referencePath", ""),
        )


@dataclass(frozen=True)
class PanelPlan:
    index: int
    scene: str
    caption: str
    narration: str
    dialogue: tuple[DialogueLine, ...] = ()
    characters: tuple[str, ...] = ()
    image_prompt: str = ""


# The fields a panel takes from its plan, by the same names.
_PLAN_FIELDS = tuple(name for name in PanelPlan.__dataclass_fields__)


@dataclass(frozen=True)
class StoryPlan:
    title: str
    characters: tuple[Character, ...]
    panels: tuple[PanelPlan, ...]


@dataclass(frozen=True)
class PanelRequest:
    """What an image generator needs to draw one panel."""

    panel: PanelPlan
    style: str
    characters: Sequence[Character]
    # Character names to the bytes of their reference sheets.
    references: Mapping[str, bytes]
    previous: PanelPlan | None = None


@dataclass(frozen=True)
class IdempotencyRecord:
    """Ties a caller's Idempotency-Key to the job its first request created."""

    key_id: str  # a hash of the caller's uid and key: per user, and no raw key stored
    body_hash: str
    expires_at: float


# The style whose look is the owner's own text (``Job.style_text``), not a preset.
CUSTOM_STYLE = "custom"


@dataclass(frozen=True)
class JobRequest:
    """A validated request to start a job."""

    story: str
    style: str
    panels: int
    language: str
    # With ``style == CUSTOM_STYLE``: the owner's description of the look.
    style_text: str = ""


@dataclass(frozen=True)
class Asset:
    """A stored image or audio file."""

    path: str
    # Empty in what is stored: the bucket is private, and the API hands the job's owner a
    # short-lived signed link with every read (documents of older versions may carry one).
    url: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "contentType": self.content_type,
            "size": self.size,
        }
        if self.url:
            data["url"] = self.url
        for key, value in (
            ("width", self.width),
            ("height", self.height),
            ("durationMs", self.duration_ms),
        ):
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def stored(cls, path: str, content_type: str, size: int, meta: Mapping[str, int]) -> Asset:
        """A file just written or found in a blob store, from the metadata stored beside it
        (``width``, ``height``, ``durationMs``); its url stays empty (see ``url``)."""
        return cls(
            path=path,
            url="",
            content_type=content_type,
            size=size,
            width=meta.get("width"),
            height=meta.get("height"),
            duration_ms=meta.get("durationMs"),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Asset | None:
        if not data:
            return None
        return cls(
            path=data["path"],
            url=data.get("url", ""),
            content_type=data.get("contentType", ""),
            size=int(data.get("size", 0)),
            width=data.get("width"),
            height=data.get("height"),
            duration_ms=data.get("durationMs"),
        )


@dataclass(frozen=True)
class PanelAssets:
    """What rendering a panel produced: its image, and its audio when it has any to say."""

    image: Asset
    audio: Asset | None


@dataclass
class Panel:
    job_id: str
    index: int
    status: PanelStatus
    scene: str = ""
    caption: str = ""
    narration: str = ""
    dialogue: list[DialogueLine] = field(default_factory=list)
    characters: list[str] = field(default_factory=list)
    image_prompt: str = ""
    image: Asset | None = None
    audio: Asset | None = None
    attempts: int = 0
    # Bumped by a regenerate request; part of the asset names, so a new image is made.
    generation: int = 0
    error: dict[str, str] | None = None
    lease_owner: str | None = None
    lease_expires_at: float | None = None

    @classmethod
    def from_plan(cls, job_id: str, plan: PanelPlan) -> Panel:
        """A pending panel with the plan's text and prompt (lists where the plan has tuples)."""
        planned = {name: getattr(plan, name) for name in _PLAN_FIELDS}
        planned.update(dialogue=list(plan.dialogue), characters=list(plan.characters))
        return cls(job_id=job_id, status=PanelStatus.PENDING, **planned)

    def plan(self) -> PanelPlan:
        """The plan this panel carries out: the inverse of ``from_plan``."""
        planned = {name: getattr(self, name) for name in _PLAN_FIELDS}
        planned.update(dialogue=tuple(self.dialogue), characters=tuple(self.characters))
        return PanelPlan(**planned)

    def to_dict(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "index": self.index,
            "status": self.status.value,
            "scene": self.scene,
            "caption": self.caption,
            "narration": self.narration,
            "dialogue": [asdict(line) for line in self.dialogue],
            "characters": list(self.characters),
            "imagePrompt": self.image_prompt,
            "image": self.image.to_dict() if self.image else None,
            "audio": self.audio.to_dict() if self.audio else None,
            "attempts": self.attempts,
            "generation": self.generation,
            "error": self.error,
            "lease": (
                {"owner": self.lease_owner, "expiresAt": self.lease_expires_at}
                if self.lease_owner
                else None
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Panel:
        lease = data.get("lease") or {}
        return cls(
            job_id=data["jobId"],
            index=int(data["index"]),
            status=PanelStatus(data["status"]),
            scene=data.get("scene", ""),
            caption=data.get("caption", ""),
            narration=data.get("narration", ""),
            dialogue=[DialogueLine(**line) for line in data.get("dialogue") or []],
            characters=list(data.get("characters") or []),
            image_prompt=data.get("imagePrompt", ""),
            image=Asset.from_dict(data.get("image")),
            audio=Asset.from_dict(data.get("audio")),
            attempts=int(data.get("attempts", 0)),
            generation=int(data.get("generation", 0)),
            error=data.get("error"),
            lease_owner=lease.get("owner"),
            lease_expires_at=lease.get("expiresAt"),
        )


@dataclass
class Job:
    job_id: str
    owner_uid: str
    status: JobStatus
    style: str
    language: str
    panels_requested: int
    title: str = ""
    panel_count: int = 0
    panels_done: int = 0
    panels_failed: int = 0
    characters: list[Character] = field(default_factory=list)
    error: dict[str, str] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None
    timings: dict[str, int] = field(default_factory=dict)
    idempotency_key_id: str = ""
    style_text: str = ""
    # Bumped by every change to a finished comic (edit, regenerate, retry): what an export
    # made from an older generation no longer shows.
    generation: int = 0
    # The job this one translates (its images are reused); empty for a comic of its own.
    translated_from: str = ""

    @property
    def art_style(self) -> str:
        """What the image prompts call the style: a preset's name, or the custom text."""
        return self.style_text if self.style == CUSTOM_STYLE and self.style_text else self.style

    @property
    def progress(self) -> float:
        if not self.panel_count:
            return 1.0 if self.status == JobStatus.COMPLETED else 0.0
        return (self.panels_done + self.panels_failed) / self.panel_count

    def to_dict(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "ownerUid": self.owner_uid,
            "status": self.status.value,
            "style": self.style,
            "language": self.language,
            "panelsRequested": self.panels_requested,
            "title": self.title,
            "panelCount": self.panel_count,
            "panelsDone": self.panels_done,
            "panelsFailed": self.panels_failed,
            "progress": self.progress,
            "characters": [character.to_dict() for character in self.characters],
            "error": self.error,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "finishedAt": self.finished_at,
            "timings": dict(self.timings),
            "idempotencyKeyId": self.idempotency_key_id,
            "styleText": self.style_text,
            "generation": self.generation,
            "translatedFrom": self.translated_from,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(
            job_id=data["jobId"],
            owner_uid=data["ownerUid"],
            status=JobStatus(data["status"]),
            style=data.get("style", ""),
            language=data.get("language", "en"),
            panels_requested=int(data.get("panelsRequested", 0)),
            title=data.get("title", ""),
            panel_count=int(data.get("panelCount", 0)),
            panels_done=int(data.get("panelsDone", 0)),
            panels_failed=int(data.get("panelsFailed", 0)),
            characters=[Character.from_dict(c) for c in data.get("characters") or []],
            error=data.get("error"),
            created_at=float(data.get("createdAt") or 0.0),
            updated_at=float(data.get("updatedAt") or 0.0),
            finished_at=data.get("finishedAt"),
            timings=dict(data.get("timings") or {}),
            idempotency_key_id=data.get("idempotencyKeyId", ""),
            style_text=data.get("styleText", ""),
            generation=int(data.get("generation", 0)),
            translated_from=data.get("translatedFrom", ""),
        )


@dataclass(frozen=True)
class RenderedImage:
    data: bytes
    width: int
    height: int
    content_type: str = "image/png"


@dataclass(frozen=True)
class SpeechLine:
    """One stretch of speech: narration (speaker empty) or a character's line."""

    text: str
    speaker: str = ""
    voice: str = ""


@dataclass(frozen=True)
class SynthesizedAudio:
    data: bytes
    content_type: str
    duration_ms: int
