"""Sync's domain errors with the reasons the proto documents."""

from __future__ import annotations

from dataclasses import dataclass, field

from symphony_common.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
    QuotaViolation,
    ResourceExhausted,
    Unavailable,
    invalid_field,
)
from symphony_sync.domain.models import ChangeResult, Item


@dataclass
class RevisionConflict(Aborted):
    """ABORTED (REVISION_CONFLICT). The servicer packs the server's copies into the status
    details (`PushConflicts` or the `Item`) and re-raises; the interceptor maps it."""

    conflicts: list[ChangeResult] = field(default_factory=list)
    server_item: Item | None = None


def revision_conflict(conflicts: list[ChangeResult]) -> RevisionConflict:
    return RevisionConflict(
        reason="REVISION_CONFLICT",
        message="the base revision is stale; the server's copy is in the details",
        conflicts=conflicts,
    )


def stale_item(current: Item | None) -> RevisionConflict:
    """One item's base revision is stale: its copy goes in the details, and its revision (0:
    none) in the ErrorInfo too, which always fits the trailers where a large copy does not."""
    return RevisionConflict(
        reason="REVISION_CONFLICT",
        message="the base revision is stale; the server's copy is in the details",
        metadata={"current_revision": str(current.revision if current else 0)},
        server_item=current,
    )


def generation_changed(current: int) -> FailedPrecondition:
    return FailedPrecondition(
        reason="GENERATION_CHANGED",
        message=f"the user's data was reset (generation {current} now); resync from scratch",
        metadata={"generation": str(current)},
        precondition_violations=[
            PreconditionViolation("GENERATION", str(current), "the client's generation is stale")
        ],
    )


def shutting_down() -> Unavailable:
    """Ends watch streams when this replica drains, so clients reconnect at once (to another
    replica) instead of waiting out the drain."""
    return Unavailable(
        reason="SHUTTING_DOWN",
        message="this server is shutting down; reconnect",
        retry_after_seconds=0.0,
    )


def device_disabled(uid: str) -> FailedPrecondition:
    return FailedPrecondition(
        reason="DEVICE_DISABLED",
        message="this device was disabled by its owner",
        metadata={"device": uid},
        precondition_violations=[PreconditionViolation("DEVICE", uid, "the device is disabled")],
    )


def collection_excluded(index_path: str, collection: str) -> FailedPrecondition:
    return FailedPrecondition(
        reason="COLLECTION_EXCLUDED",
        message=f"{index_path}: this device keeps collection {collection!r} local",
        precondition_violations=[
            PreconditionViolation("COLLECTION", collection, "excluded by the device's selection")
        ],
    )


def quota(reason: str, subject: str, description: str) -> ResourceExhausted:
    return ResourceExhausted(
        reason=reason,
        message=description,
        quota_violations=[QuotaViolation(subject, description)],
    )


def invalid_request_id(path: str = "request_id") -> InvalidArgument:
    return invalid_field(path, "must be a UUID", "INVALID_REQUEST_ID")


def request_id_reused() -> InvalidArgument:
    return InvalidArgument(
        reason="REQUEST_ID_REUSED",
        message="request_id: already used for a different request",
        field_violations=[
            FieldViolation(
                "request_id", "already used for a different request", "REQUEST_ID_REUSED"
            )
        ],
    )


def request_in_progress() -> Aborted:
    return Aborted(
        reason="REQUEST_IN_PROGRESS",
        message="a call with this request id is still running; retry with the same id",
        retry_after_seconds=0.2,
    )


def invalid_cursor(why: str = "is not a cursor of this user") -> InvalidArgument:
    return invalid_field("since", why, "INVALID_CURSOR")
