"""Domain errors: what went wrong, in the project's terms, with a stable reason.

Domain code raises these; one gRPC interceptor maps them to `google.rpc.Status` (see
`symphony_common.grpc.status`). This module imports no framework so domain layers may use it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class Code(enum.IntEnum):
    """The subset of `google.rpc.Code` that domain errors use (values match gRPC's)."""

    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str
    reason: str = ""


@dataclass(frozen=True)
class PreconditionViolation:
    type: str
    subject: str
    description: str


@dataclass(frozen=True)
class QuotaViolation:
    subject: str
    description: str


@dataclass(frozen=True)
class ResourceRef:
    resource_type: str
    resource_name: str
    owner: str = ""
    description: str = ""


@dataclass
class DomainError(Exception):
    """Base of every error a client may see. `reason` is stable UPPER_SNAKE; `message` is for
    humans and must never contain internals (SQL, paths, exception text, secrets)."""

    reason: str
    message: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    field_violations: Sequence[FieldViolation] = ()
    precondition_violations: Sequence[PreconditionViolation] = ()
    quota_violations: Sequence[QuotaViolation] = ()
    resource: ResourceRef | None = None
    retry_after_seconds: float | None = None
    # Extra detail messages (already-built protobuf messages, e.g. the server's copy of a
    # conflicting item); packed as they are into `google.rpc.Status.details`.
    extra_details: Sequence[object] = ()

    code = Code.FAILED_PRECONDITION

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code.name} {self.reason}: {self.message}"


class InvalidArgument(DomainError):
    code = Code.INVALID_ARGUMENT


class NotFound(DomainError):
    code = Code.NOT_FOUND


class AlreadyExists(DomainError):
    code = Code.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    code = Code.FAILED_PRECONDITION


class Aborted(DomainError):
    code = Code.ABORTED


class PermissionDenied(DomainError):
    code = Code.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = Code.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    code = Code.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    code = Code.UNAVAILABLE


class DeadlineExceeded(DomainError):
    code = Code.DEADLINE_EXCEEDED


class Unimplemented(DomainError):
    code = Code.UNIMPLEMENTED


class OutOfRange(DomainError):
    code = Code.OUT_OF_RANGE


class DataLoss(DomainError):
    code = Code.DATA_LOSS


def invalid_field(
    field_path: str, description: str, reason: str = "INVALID_FIELD"
) -> InvalidArgument:
    """The common case: one bad field."""
    return InvalidArgument(
        reason=reason,
        message=f"{field_path}: {description}",
        field_violations=[FieldViolation(field_path, description, reason)],
    )


def not_found(resource_type: str, name: str, reason: str | None = None) -> NotFound:
    return NotFound(
        reason=reason or f"{resource_type.upper()}_NOT_FOUND",
        message=f"{resource_type} {name!r} not found",
        resource=ResourceRef(resource_type, name),
    )


def not_implemented_yet(method: str, issue: str) -> Unimplemented:
    return Unimplemented(
        reason="NOT_IMPLEMENTED",
        message=f"{method} is not implemented yet (planned in {issue})",
    )


def database_unavailable() -> Unavailable:
    return Unavailable(
        reason="DATABASE_UNAVAILABLE",
        message="the database is unavailable; retry shortly",
        retry_after_seconds=1.0,
    )
