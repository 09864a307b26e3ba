"""Domain error → `google.rpc.Status` with an `ErrorInfo` and the matching detail messages."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from symphony_common.errors import Code, DomainError

INTERNAL_REASON = "INTERNAL"


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def domain_error_status(error: DomainError, domain: str, request_id: str = "") -> status_pb2.Status:
    metadata = dict(error.metadata)
    if request_id:
        metadata.setdefault("request_id", request_id)
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=metadata))
    ]
    if error.field_violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description, reason=v.reason
                        )
                        for v in error.field_violations
                    ]
                )
            )
        )
    if error.resource is not None:
        r = error.resource
        details.append(
            _pack(
                error_details_pb2.ResourceInfo(
                    resource_type=r.resource_type,
                    resource_name=r.resource_name,
                    owner=r.owner,
                    description=r.description,
                )
            )
        )
    if error.precondition_violations:
        details.append(
            _pack(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=v.type, subject=v.subject, description=v.description
                        )
                        for v in error.precondition_violations
                    ]
                )
            )
        )
    if error.quota_violations:
        details.append(
            _pack(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(
                            subject=v.subject, description=v.description
                        )
                        for v in error.quota_violations
                    ]
                )
            )
        )
    if error.retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    for extra in error.extra_details:
        if isinstance(extra, Message):
            details.append(_pack(extra))
    return status_pb2.Status(code=int(error.code), message=error.message, details=details)


def internal_status(domain: str, request_id: str) -> status_pb2.Status:
    """What a client sees for an unexpected failure: no exception text, only the request id
    that the server's log line carries."""
    info = error_details_pb2.ErrorInfo(
        reason=INTERNAL_REASON, domain=domain, metadata={"request_id": request_id}
    )
    return status_pb2.Status(
        code=grpc.StatusCode.INTERNAL.value[0],
        message=f"internal error (request id {request_id})",
        details=[_pack(info)],
    )


def to_grpc_status(status: status_pb2.Status) -> grpc.Status:
    return rpc_status.to_status(status)


_CODES = {code.value[0]: code for code in grpc.StatusCode}


def grpc_code(code: Code | int) -> grpc.StatusCode:
    return _CODES[int(code)]
