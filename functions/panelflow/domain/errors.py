"""One error root; retryable vs permanent is a property of the type, never of a message."""

from __future__ import annotations


class PanelflowError(Exception):
    """Root of every error the core raises on purpose."""

    code = "internal"
    retryable = False
    http_status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class ValidationFailed(PanelflowError):
    """The caller sent something we will not accept; carries every field error."""

    code = "invalid_argument"
    http_status = 400

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0] if errors else {"field": "", "reason": "invalid request"}
        super().__init__(f"{first['field']}: {first['reason']}", field=first["field"] or None)
        self.errors = errors

    def to_dict(self) -> dict[str, object]:  # type: ignore[override]
        return {"code": self.code, "message": self.message, "errors": self.errors}


class Unauthenticated(PanelflowError):
    code = "unauthenticated"
    http_status = 401


class NotFound(PanelflowError):
    code = "not_found"
    http_status = 404


class Conflict(PanelflowError):
    code = "conflict"
    http_status = 409


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class QuotaExceeded(PanelflowError):
    """The caller reached a per-user limit; ``limit`` names it, ``retry_after`` says when to
    ask again (seconds). Not retryable in the Pub/Sub sense: nothing is queued."""

    code = "quota_exceeded"
    http_status = 429

    def __init__(self, message: str, *, limit: str, retry_after: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after = max(1, int(retry_after))

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "limit": self.limit}


class JobCancelled(PanelflowError):
    """The job was cancelled: stop before the next paid call, without failing anything."""

    code = "cancelled"
    http_status = 409


class ConfigurationError(PanelflowError):
    """Missing or contradictory settings; raised at start-up, naming the variable."""

    code = "configuration"


class TransientError(PanelflowError):
    """Worth retrying: the same call may succeed later (timeouts, 429, 5xx, lock contention).

    ``retry_after`` (seconds) is the least wait the provider asked for, when it said so.
    """

    code = "unavailable"
    retryable = True
    http_status = 503

    def __init__(
        self, message: str, *, field: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class ProviderError(PanelflowError):
    """A model or voice provider refused permanently (bad request, safety, auth)."""

    code = "provider_failed"


class ContentBlocked(ProviderError):
    """The provider declined to produce content for this prompt."""

    code = "content_blocked"


class PlanningFailed(ProviderError):
    code = "planning_failed"


class TranslationUnavailable(PanelflowError):
    """The configured planner cannot translate (only the Google planner can)."""

    code = "translation_unavailable"
    http_status = 422


class QuotaExhausted(ProviderError):
    """The provider's quota cannot recover by waiting: no billing (limit 0) or a per-day
    quota used up. Permanent, so a job fails with a reason instead of retrying all day."""

    code = "quota_exhausted"


class ModelUnavailable(ProviderError):
    """The configured model does not exist (retired or misspelt); ``field`` names the
    variable that chooses it."""

    code = "model_unavailable"


class LeaseHeld(TransientError):
    """Another worker holds a live lease on this panel; try again after it expires."""

    code = "lease_held"
