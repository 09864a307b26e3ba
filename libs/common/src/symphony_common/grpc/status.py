"""Domain error → `google.rpc.Status` with an `ErrorInfo` and the matching detail messages."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from symphony_common.errors import Code, DomainError

INTERNAL_REASON = "INTERNAL"
# Errors often quote the input back ("namespace 'x' not found"); the caps keep a huge input
# from turning into trailers larger than gRPC's 8 KiB metadata limit, which would lose the
# status. They count UTF-8 bytes, not characters: grpc-message percent-encodes every
# non-ASCII byte (3x) and the details travel again, base64-encoded, in grpc-status-details-bin.
MAX_MESSAGE = 512
MAX_VALUE = 128
# Clients refuse received metadata over 8 KiB by default (gRPC's soft limit); the other
# headers of an error's trailers take ~350 bytes.
TRAILER_BUDGET = 7 * 1024


def _cap(text: str, limit: int = MAX_VALUE) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    # "…" is 3 bytes; errors="ignore" drops a character cut in half.
    return encoded[: limit - 3].decode(errors="ignore") + "…"


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def fits_in_trailers(detail: Message, reserve: int = 1024) -> bool:
    """Whether `detail`, packed in an error's status, leaves `reserve` bytes of the trailer
    budget for the message and the ErrorInfo; a service trims what it quotes back by this."""
    return (_pack(detail).ByteSize() + 2) // 3 * 4 + reserve <= TRAILER_BUDGET


def domain_error_status(error: DomainError, domain: str, request_id: str = "") -> status_pb2.Status:
    metadata = {_cap(k): _cap(v) for k, v in error.metadata.items()}
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
                            field=_cap(v.field),
                            description=_cap(v.description, MAX_MESSAGE),
                            reason=v.reason,
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
                    resource_name=_cap(r.resource_name),
                    owner=_cap(r.owner),
                    description=_cap(r.description, MAX_MESSAGE),
                )
            )
        )
    if error.precondition_violations:
        details.append(
            _pack(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=v.type,
                            subject=_cap(v.subject),
                            description=_cap(v.description, MAX_MESSAGE),
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
                            subject=_cap(v.subject), description=_cap(v.description, MAX_MESSAGE)
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
    status = status_pb2.Status(
        code=int(error.code), message=_cap(error.message, MAX_MESSAGE), details=details
    )
    return _fit(status)


def _trailer_bytes(status: status_pb2.Status) -> int:
    """What the status costs in trailers: grpc-message percent-encodes non-ASCII bytes, and
    grpc-status-details-bin carries the whole Status in base64."""
    message = sum(1 if b < 0x80 else 3 for b in status.message.encode())
    return message + (status.ByteSize() + 2) // 3 * 4


def _fit(status: status_pb2.Status) -> status_pb2.Status:
    """Drop the largest details (never the ErrorInfo, which comes first) until the status fits
    TRAILER_BUDGET, and name what was dropped in the ErrorInfo's `details_omitted`: a detail
    quoting big values back (a sync conflict's server copies) must not cost the client the
    whole error."""
    if _trailer_bytes(status) <= TRAILER_BUDGET:
        return status
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    omitted: list[str] = []
    while len(status.details) > 1:
        largest = max(range(1, len(status.details)), key=lambda i: status.details[i].ByteSize())
        omitted.append(status.details[largest].type_url.rsplit(".", 1)[-1])
        del status.details[largest]
        info.metadata["details_omitted"] = ",".join(omitted)
        status.details[0].Pack(info)
        if _trailer_bytes(status) <= TRAILER_BUDGET:
            break
    return status


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
