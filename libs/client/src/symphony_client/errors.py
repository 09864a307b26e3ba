"""What a server's error says beyond its code: the `google.rpc.Status` in the
`grpc-status-details-bin` trailer, read once here for every client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import grpc
from google.rpc import error_details_pb2, status_pb2


@dataclass(frozen=True)
class ErrorDetails:
    reason: str = ""  # ErrorInfo.reason: the stable machine-readable cause
    retry_after: float | None = None  # RetryInfo: the server's hint, in seconds


def status_of(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status the server sent (empty when there is none or it is unreadable)."""
    # At run time an AioRpcError's trailers are a grpc.aio.Metadata; grpc-stubs only declare the
    # synchronous Call's tuple of metadata items.
    trailers = cast("grpc.aio.Metadata | None", error.trailing_metadata())
    value = trailers.get("grpc-status-details-bin") if trailers is not None else None
    if not isinstance(value, bytes):
        return status_pb2.Status()
    try:
        return status_pb2.Status.FromString(value)
    except Exception:  # a proxy's garbage is no reason to fail the caller's error handling
        return status_pb2.Status()


def details_of(error: grpc.aio.AioRpcError) -> ErrorDetails:
    reason, retry_after = "", None
    for detail in status_of(error).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            delay = error_details_pb2.RetryInfo()
            detail.Unpack(delay)
            retry_after = delay.retry_delay.ToTimedelta().total_seconds()
    return ErrorDetails(reason, retry_after)


def error_reason(error: grpc.aio.AioRpcError) -> str:
    return details_of(error).reason
