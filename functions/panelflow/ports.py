"""The ports: what the services need from the outside world, named by what they do.

Adapters live in ``panelflow.adapters``; hand-written fakes for tests live in
``tests/fakes`` and are held to the same contract by ``tests/contract``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from panelflow.domain.costs import PaidCall
from panelflow.domain.exports import Export, ExportStatus
from panelflow.domain.leases import Claim
from panelflow.domain.models import (
    Asset,
    Character,
    IdempotencyRecord,
    Job,
    JobStatus,
    Panel,
    PanelAssets,
    PanelRequest,
    RenderedImage,
    SpeechLine,
    StoryPlan,
    SynthesizedAudio,
)
from panelflow.domain.quotas import Quota, UsageCharge
from panelflow.domain.sharing import Device, Share
from panelflow.settings import Settings

__all__ = [
    "AccountDependencies",
    "Authenticator",
    "BlobStore",
    "Claim",
    "Clock",
    "Closing",
    "Dependencies",
    "DeviceStore",
    "ExportDependencies",
    "FinishingDependencies",
    "ImageGenerator",
    "JobDependencies",
    "JobStore",
    "NotifyingDependencies",
    "PanelQueue",
    "PlanningDependencies",
    "PushMessage",
    "PushSender",
    "RenderingDependencies",
    "ShareStore",
    "SharingDependencies",
    "SignedUrl",
    "SpeechSynthesizer",
    "StoreDependencies",
    "StoryPlanner",
]


@dataclass(frozen=True)
class SignedUrl:
    """A time-limited link to one stored asset."""

    url: str
    # Seconds since the epoch after which the link no longer works.
    expires_at: float


class Closing(Protocol):
    """What ``JobStore.complete_panel`` asks before it records a panel: does recording it
    (with the panels recorded in the same commit) end the job, and how?

    The worker that finished every other panel of a job knows; the store then writes the
    job's final move in the commit that records its last panels, so a client sees the job
    end with its last panel, one commit sooner.
    """

    def outcome(self, recorded: Mapping[int, float]) -> tuple[int, int, float | None] | None:
        """Panels done, panels failed and when the first was done, if recording the panels
        ``recorded`` (index → the time each is done) finishes every panel; else None."""

    def recorded(self, panels: Mapping[int, float]) -> None:
        """These panels were recorded done (index → when), before any later commit of the
        store asks ``outcome``."""

    def closed(self, status: JobStatus) -> None:
        """The final move went out with the panel: the job is now ``status``."""


class JobStore(Protocol):
    """Durable state of jobs and their panels.

    Lease decisions (``panelflow.domain.leases``) and the final move
    (``panelflow.domain.finishing``) are the domain's; a store applies them atomically.
    """

    def create_job(
        self,
        job: Job,
        story: str,
        idempotency: IdempotencyRecord | None = None,
        quota: Quota | None = None,
    ) -> Job:
        """Creates ``jobs/{id}`` and stores the story beside it, atomically.

        With ``idempotency``, the key is recorded in the same write; a live key recorded
        by an earlier request returns that request's job instead (nothing is written, and
        nothing is charged). With ``quota``, the owner's usage is charged for the job and its
        ``panels_requested`` in the same write (see ``panelflow.domain.quotas``).

        Returns:
            The job now stored under the request: ``job`` or the earlier one.

        Raises:
            Conflict: a job with this id already exists.
            IdempotencyConflict: the key was used with a different body.
            QuotaExceeded: the owner reached a limit; nothing was written.
        """

    def charge_usage(self, owner_uid: str, job_id: str, panels: int, quota: Quota) -> None:
        """Charges the owner's usage for ``panels`` more panels of a job that runs again.

        Raises:
            QuotaExceeded: the owner reached a limit; nothing was written.
        """

    def delete_job(self, job_id: str, idempotency_key_id: str = "") -> None:
        """Removes the job with everything stored beside it: its panels, its cost ledger,
        its story and its idempotency key. The job document goes first, so a worker that
        wrote something after it was gone finds it missing and removes its own writes
        (``panelflow.services.deletion.forget_if_deleted``). Deleting twice is harmless."""

    def delete_owner_records(self, owner_uid: str) -> None:
        """Removes what an owner has beside their jobs: the usage record, idempotency keys
        and any story whose job is gone."""

    def get_job(self, job_id: str) -> Job | None:
        """Returns the job, or None when there is none."""

    def get_job_and_story(self, job_id: str) -> tuple[Job | None, str | None]:
        """The job and its story in one read (the plan step needs both at once): None for
        whichever is not stored."""

    def get_panel(self, job_id: str, index: int) -> Panel | None:
        """Returns one panel, or None when there is none."""

    def get_story(self, job_id: str) -> str:
        """Returns the story text the job was started with.

        Raises:
            NotFound: no story is stored for the job.
        """

    def list_panels(self, job_id: str) -> list[Panel]:
        """Returns the job's panels ordered by index."""

    def list_jobs(self, owner_uid: str, limit: int = 20) -> list[Job]:
        """Returns the owner's jobs, newest first."""

    def transition_job(
        self,
        job_id: str,
        expected: Sequence[JobStatus],
        new: JobStatus,
        *,
        charge: UsageCharge | None = None,
        **fields: object,
    ) -> bool:
        """Moves the job to ``new`` if its status is one of ``expected``; with ``charge``,
        the owner's usage is charged in the same atomic write.

        Returns:
            True when this call made the transition.

        Raises:
            QuotaExceeded: ``charge`` reached a limit; nothing was written.
        """

    def save_plan(
        self,
        job_id: str,
        plan: StoryPlan,
        characters: Sequence[Character],
        plan_ms: int,
        images: Mapping[int, Asset] | None = None,
        costs: Sequence[PaidCall] = (),
    ) -> str | None:
        """Writes the panel documents and moves the job from queued to rendering.

        ``images`` gives panels (by index) the image they start with: a translation's,
        copied from its source, which the worker then keeps. ``costs``: the planning's paid
        calls, written to the ledger with the plan (in the same commit); when the plan is
        not written (None, or an error) neither are they, and the caller writes them itself.

        Returns:
            The plan's version when this call wrote the plan (a non-empty, opaque string the
            panel messages carry for ``claim_panel``); None when the job was no longer queued.
        """

    def claim_panel(
        self,
        job_id: str,
        index: int,
        owner: str,
        lease_seconds: float,
        planned: str | None = None,
    ) -> Claim:
        """Takes the panel's lease if it is pending or its lease has expired.

        ``planned``: the version ``save_plan`` returned, from the panel's message. While the
        panel is still as the plan wrote it, a store may take the lease without reading
        first; the outcome is the same with or without it, and any stale or unreadable
        value costs only the usual read.

        Raises:
            NotFound: the panel does not exist.
            LeaseHeld: another worker holds a live lease.
        """

    def complete_panel(
        self,
        job_id: str,
        index: int,
        owner: str,
        assets: PanelAssets,
        token: object | None = None,
        costs: Sequence[PaidCall] = (),
        closing: Closing | None = None,
    ) -> bool:
        """Stores the panel's assets and marks it done if ``owner`` still holds its lease.

        ``token`` is the claim's; while the panel is unchanged since the claim, the store
        may skip re-reading it. ``costs``, the panel's paid calls, go to the job's ledger
        whatever the outcome: in the panel's own commit when it can, otherwise on their own
        (a failure to write them is logged, never raised: the ledger is an estimate).

        ``closing``: when its ``outcome`` says the panel (with those recorded beside it)
        ends the job, the job's final move (as ``finalize_job`` makes it) goes out in the
        same commit and ``closing.closed`` is told, at most once a job; when that move
        cannot be made there (the job changed since it was read), the panel is recorded
        without it and the caller finishes the job as before.

        Returns:
            True when this call finished the panel.
        """

    def fail_panel(
        self, job_id: str, index: int, error: dict[str, str], owner: str | None = None
    ) -> bool:
        """Marks the panel failed with a readable reason if it is not finished yet.

        ``owner`` None fails it whoever holds the lease (dead letters, sweeper).

        Returns:
            True when this call finished the panel.
        """

    def release_panel(self, job_id: str, index: int, owner: str | None) -> bool:
        """Gives a claimed panel back (pending, no lease) so a retry can claim it at once.

        ``owner`` None releases it whoever holds the lease (the sweeper, after expiry).

        Returns:
            True when the panel was unfinished (and held by ``owner``) and is now pending.
        """

    def requeue_panels(
        self,
        job_id: str,
        indexes: Sequence[int],
        expected: Sequence[JobStatus],
        regenerate: bool = False,
        charge: UsageCharge | None = None,
    ) -> bool:
        """Sets the panels pending and the job rendering (its generation bumped),
        atomically, if the job's status is one of ``expected``; ``regenerate`` bumps each
        panel's generation, and
        ``charge`` is charged to the owner's usage in the same write.

        Returns:
            True when this call re-queued them.

        Raises:
            QuotaExceeded: ``charge`` reached a limit; nothing was written.
        """

    def edit_panel(
        self,
        job_id: str,
        index: int,
        fields: Mapping[str, object],
        *,
        expected: Sequence[JobStatus],
        requeue: bool,
        charge: UsageCharge | None = None,
    ) -> bool:
        """Writes an edit to a panel (``fields`` by their document names: caption, narration,
        dialogue, imagePrompt) and bumps the job's generation, atomically, if the job's
        status is one of ``expected``. With ``requeue`` the panel goes back to pending and
        the job to rendering, and ``charge`` is charged in the same write.

        Returns:
            True when this call wrote the edit.

        Raises:
            QuotaExceeded: ``charge`` reached a limit; nothing was written.
        """

    def purge_expired(self, now: float, limit: int = 200) -> dict[str, int]:
        """Deletes idempotency keys, stories and usage records whose ``expiresAt`` passed
        (``panelflow.domain.retention``): what Firestore's TTL policies do in production.

        Returns:
            How many documents were deleted, by collection.
        """

    def expired_leases(self, now: float, limit: int = 100) -> list[Panel]:
        """Panels still rendering whose lease expired before ``now`` (any job)."""

    def stale_jobs(
        self, statuses: Sequence[JobStatus], updated_before: float, limit: int = 100
    ) -> list[Job]:
        """Jobs in one of ``statuses`` not written since ``updated_before``."""

    def finished_counts(self, job_id: str, panel_count: int) -> tuple[int, int] | None:
        """Counts the job's finished panels over the panel documents.

        Returns:
            (done, failed) when all ``panel_count`` panels are finished, else None.
        """

    def record_costs(self, job_id: str, calls: Sequence[PaidCall]) -> None:
        """Adds paid calls to the job's cost ledger (beside the job, not on its document, so
        recording never contends with panel or job updates); a call id is stored once."""

    def list_costs(self, job_id: str) -> list[PaidCall]:
        """Returns every paid call recorded for the job, oldest first."""

    def finalize_job(
        self, job_id: str, done: int, failed: int, first_done_at: float | None = None
    ) -> JobStatus | None:
        """Moves a rendering job whose panels are all finished to its final state, once.

        ``first_done_at``: when its first panel was done, if the caller knows (the worker
        that finished every panel does); otherwise the store finds it.

        Returns:
            The final status when this call made the transition, else None.
        """

    def create_export(self, export: Export) -> tuple[Export, bool]:
        """Creates ``jobs/{jobId}/exports/{exportId}`` unless it exists (``delete_job``
        removes it with the job).

        Returns:
            The stored export, and True when this call created it.
        """

    def get_export(self, job_id: str, export_id: str) -> Export | None:
        """Returns the export, or None when there is none."""

    def save_export(self, export: Export, expected: Sequence[ExportStatus]) -> bool:
        """Writes ``export`` over the stored one if that one's status is one of ``expected``
        (compare-and-set; a deleted export stays deleted).

        Returns:
            True when this call wrote it.
        """


class PanelQueue(Protocol):
    """Work messages; they carry ids (and a fresh plan's version) only."""

    def publish_plan(self, job_id: str) -> None:
        """Asks for the job to be planned."""

    def publish_panels(
        self, job_id: str, indexes: Sequence[int], planned: str | None = None
    ) -> None:
        """Publishes one message per panel (batched); returns once all are accepted.

        ``planned``: the plan's version (``JobStore.save_plan``) when the panels were just
        written by it, so each worker may claim its panel without reading it first."""

    def publish_finished(self, job_id: str) -> None:
        """Tells the notifier that the job reached a terminal state."""

    def publish_export(self, job_id: str, export_id: str) -> None:
        """Asks for one export of a finished job to be written."""


class BlobStore(Protocol):
    """Binary assets (panel images, audio, character sheets)."""

    def exists(self, path: str) -> Asset | None:
        """Returns the stored asset at ``path``, or None."""

    def put(self, path: str, data: bytes, content_type: str, **meta: int) -> Asset:
        """Stores ``data`` at ``path`` and returns where it can be read."""

    def get(self, path: str) -> bytes:
        """Returns the bytes stored at ``path``.

        Raises:
            NotFound: nothing is stored there.
        """

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object whose name starts with ``prefix``; returns how many."""

    def signed_url(self, path: str, expires_in: float) -> SignedUrl:
        """A link that lets whoever holds it read ``path`` until it expires.

        Only hand it to the owner of the asset: the link itself is the permission.

        Raises:
            TransientError: the signing service is unavailable.
        """


class StoryPlanner(Protocol):
    """Splits a story into characters and panels."""

    def plan(self, story: str, *, panels: int, style: str, language: str) -> StoryPlan:
        """Returns a plan with exactly ``panels`` panels where the story allows.

        Raises:
            PlanningFailed: the story cannot be planned.
            TransientError: try again later.
        """

    def translate(self, plan: StoryPlan, *, source_language: str, language: str) -> StoryPlan:
        """Returns the plan's words (title, captions, narration, dialogue) in ``language``,
        panel for panel and line for line (``panelflow.domain.translation`` checks that).

        Raises:
            TranslationUnavailable: this planner cannot translate.
            PlanningFailed: the translation did not fit the plan.
            TransientError: try again later.
        """


class ImageGenerator(Protocol):
    """Draws character sheets and panels."""

    def character_sheet(self, character: Character, *, style: str) -> RenderedImage:
        """Returns a reference image for a character."""

    def panel(self, request: PanelRequest) -> RenderedImage:
        """Returns the panel's image, drawn with its characters' reference sheets.

        Raises:
            ContentBlocked: the provider refused the prompt.
            TransientError: try again later.
        """


class SpeechSynthesizer(Protocol):
    """Turns narration and dialogue into one audio file."""

    def synthesize(self, lines: Sequence[SpeechLine], *, language: str) -> SynthesizedAudio:
        """Returns the lines spoken one after another.

        Raises:
            ProviderError: the text cannot be spoken.
            TransientError: try again later.
        """


class ShareStore(Protocol):
    """Share links (``shares/{shareId}``, server-side only): one document per link."""

    def create_share(self, share: Share) -> None:
        """Stores a new link."""

    def get_share(self, share_id: str) -> Share | None:
        """Returns the link, or None when there is none."""

    def list_shares(self, job_id: str) -> list[Share]:
        """Returns the job's links, newest first."""

    def revoke_share(self, share_id: str) -> bool:
        """Marks the link revoked; returns False when there is no such link."""

    def delete_shares(self, job_id: str) -> int:
        """Deletes every link to the job; returns how many."""


class DeviceStore(Protocol):
    """Devices that asked for notifications (``users/{uid}/devices/{deviceId}``) and what
    the notifier sent (``notifications/{jobId}``)."""

    def register_device(self, device: Device) -> None:
        """Stores the device under its owner, and removes the same token from any other
        user (a token belongs to one app install, whoever signed in last)."""

    def unregister_device(self, owner_uid: str, device_id: str) -> bool:
        """Removes the owner's device; returns False when the owner had none by that id."""

    def list_devices(self, owner_uid: str) -> list[Device]:
        """Returns the owner's devices."""

    def delete_devices(self, owner_uid: str) -> int:
        """Removes every device of the owner; returns how many."""

    def claim_notification(self, job_id: str, device_id: str) -> bool:
        """Records that the job's notification goes to the device, unless it was recorded
        before: True for exactly one caller however often it is asked."""

    def forget_notifications(self, job_id: str) -> None:
        """Removes what was recorded for the job's notifications."""


@dataclass(frozen=True)
class PushMessage:
    """One notification to one device: a title, a line of text and string data."""

    token: str
    title: str
    body: str
    data: dict[str, str]


class PushSender(Protocol):
    """Push notifications to native apps and browsers (FCM)."""

    def send(self, message: PushMessage) -> str:
        """Sends one message; returns the provider's message name.

        Raises:
            UnregisteredDevice: the token is no longer valid; forget the device.
            TransientError: try again later (``retry_after`` when the provider says).
            ProviderError: the message was refused; sending it again would not help.
        """


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""


class Authenticator(Protocol):
    def uid(self, authorization: str | None) -> str:
        """Returns the caller's uid from an ``Authorization`` header.

        Raises:
            Unauthenticated: the header is missing, malformed, invalid or expired.
        """

    def delete_user(self, uid: str) -> None:
        """Deletes the user's sign-in account (Firebase Auth); a missing one is fine.

        Raises:
            TransientError: the user directory is unavailable.
        """


# What the use cases are given. Each use case names the narrowest of these it needs, so its
# signature says which ports it touches; ``panelflow.bootstrap.Services`` satisfies them
# all, and tests build it with fakes that mypy checks against each port.


class StoreDependencies(Protocol):
    """Settings and the job store: enough to check or finish a job."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> JobStore: ...


class JobDependencies(StoreDependencies, Protocol):
    """Starting, reading, cancelling, retrying and sweeping jobs."""

    @property
    def queue(self) -> PanelQueue: ...

    @property
    def blobs(self) -> BlobStore: ...


class PlanningDependencies(StoreDependencies, Protocol):
    """The plan step: the planner, character sheets, the fan-out."""

    @property
    def queue(self) -> PanelQueue: ...

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def planner(self) -> StoryPlanner: ...

    @property
    def images(self) -> ImageGenerator: ...

    @property
    def image_engine(self) -> str:
        """The image engine's name in asset names (``panelflow.domain.assets``)."""
        ...


class FinishingDependencies(StoreDependencies, Protocol):
    """The final move of a job, and the message that tells the notifier about it."""

    @property
    def queue(self) -> PanelQueue: ...


class RenderingDependencies(FinishingDependencies, Protocol):
    """The panel step: image and voice, stored assets, this worker's identity."""

    @property
    def worker_id(self) -> str:
        """Identifies this instance as a lease owner; unique per process."""
        ...

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def images(self) -> ImageGenerator: ...

    @property
    def voice(self) -> SpeechSynthesizer: ...

    @property
    def image_engine(self) -> str: ...

    @property
    def voice_engine(self) -> str:
        """The voice engine's name in asset names (``panelflow.domain.assets``)."""
        ...


class SharingDependencies(JobDependencies, Protocol):
    """Share links of jobs (and deleting a job, which deletes them)."""

    @property
    def shares(self) -> ShareStore: ...

    @property
    def devices(self) -> DeviceStore: ...


class ExportDependencies(StoreDependencies, Protocol):
    """Writing an export: the job's panels and assets in, the file out."""

    @property
    def blobs(self) -> BlobStore: ...


class AccountDependencies(SharingDependencies, Protocol):
    """Deleting an account: its jobs, devices, and the user's sign-in account."""

    @property
    def authenticator(self) -> Authenticator: ...


class NotifyingDependencies(StoreDependencies, Protocol):
    """The notifier: the finished job, its owner's devices, and a way to push."""

    @property
    def devices(self) -> DeviceStore: ...

    @property
    def push(self) -> PushSender: ...


class Dependencies(
    SharingDependencies,
    PlanningDependencies,
    RenderingDependencies,
    NotifyingDependencies,
    Protocol,
):
    """Everything an entry point hands to the use cases, and the caller's authenticator."""

    @property
    def authenticator(self) -> Authenticator: ...
