from __future__ import annotations

import base64

import pytest
from google.rpc import error_details_pb2

from symphony_common.errors import (
    FieldViolation,
    InvalidArgument,
    QuotaViolation,
    ResourceExhausted,
    not_found,
)
from symphony_common.grpc.status import domain_error_status, internal_status


def unpack(status, cls):
    for detail in status.details:
        if detail.Is(cls.DESCRIPTOR):
            msg = cls()
            detail.Unpack(msg)
            return msg
    return None


def test_invalid_argument_carries_reason_and_field() -> None:
    error = InvalidArgument(
        "INVALID_EMAIL",
        "email: not an address",
        field_violations=[FieldViolation("email", "not an address")],
    )
    status = domain_error_status(error, "auth.symphony.dev", "rid-1")
    assert status.code == 3
    info = unpack(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, info.metadata["request_id"]) == (
        "INVALID_EMAIL",
        "auth.symphony.dev",
        "rid-1",
    )
    assert unpack(status, error_details_pb2.BadRequest).field_violations[0].field == "email"


def test_not_found_has_resource_info() -> None:
    status = domain_error_status(not_found("namespace", "acme"), "registry.symphony.dev")
    assert status.code == 5
    assert unpack(status, error_details_pb2.ResourceInfo).resource_name == "acme"
    assert unpack(status, error_details_pb2.ErrorInfo).reason == "NAMESPACE_NOT_FOUND"


def test_quota_with_retry_info() -> None:
    error = ResourceExhausted(
        "QUOTA_EXCEEDED",
        "over quota",
        quota_violations=[QuotaViolation("user:1", "100 MiB")],
        retry_after_seconds=2.5,
    )
    status = domain_error_status(error, "sync.symphony.dev")
    assert status.code == 8
    assert unpack(status, error_details_pb2.QuotaFailure).violations[0].subject == "user:1"
    assert unpack(status, error_details_pb2.RetryInfo).retry_delay.ToNanoseconds() == 2_500_000_000


def test_internal_reveals_only_request_id() -> None:
    status = internal_status("sync.symphony.dev", "abc123")
    assert status.code == 13
    assert status.message == "internal error (request id abc123)"
    assert unpack(status, error_details_pb2.ErrorInfo).reason == "INTERNAL"


def trailer_bytes(status) -> int:
    """What the status costs on the wire: grpc-message percent-encodes non-ASCII bytes and
    grpc-status-details-bin carries the whole Status base64-encoded."""
    message = sum(1 if b < 0x80 else 3 for b in status.message.encode())
    return message + len(base64.b64encode(status.SerializeToString()))


@pytest.mark.parametrize("char", ["d", "é", "😀"])
def test_huge_input_quoted_back_fits_in_trailers(char: str) -> None:
    name = char * 20_000
    error = not_found("device", name, "DEVICE_NOT_FOUND")
    error.metadata["device"] = name
    status = domain_error_status(error, "sync.symphony.dev", "rid")
    assert len(status.message.encode()) <= 512
    assert status.message.endswith("…")
    assert len(unpack(status, error_details_pb2.ResourceInfo).resource_name.encode()) <= 128
    # gRPC refuses trailers over 8 KiB and substitutes its own RESOURCE_EXHAUSTED.
    assert trailer_bytes(status) < 4096


def test_details_too_big_for_trailers_are_dropped_and_named() -> None:
    """A sync conflict quotes the server's copies back; big ones used to push the trailers past
    the client's 8 KiB limit, so the client saw RESOURCE_EXHAUSTED instead of the conflict."""
    big = error_details_pb2.ResourceInfo(description="x" * 20_000)
    error = InvalidArgument(
        "REVISION_CONFLICT", "stale", extra_details=[big], retry_after_seconds=1.0
    )
    status = domain_error_status(error, "sync.symphony.dev", "rid")
    assert trailer_bytes(status) <= 7 * 1024
    info = unpack(status, error_details_pb2.ErrorInfo)
    assert info.reason == "REVISION_CONFLICT" and info.metadata["request_id"] == "rid"
    assert info.metadata["details_omitted"] == "ResourceInfo"
    assert unpack(status, error_details_pb2.RetryInfo) is not None  # the small ones stay


def test_details_that_fit_are_all_kept() -> None:
    small = error_details_pb2.ResourceInfo(description="x" * 2_000)
    status = domain_error_status(
        InvalidArgument("REVISION_CONFLICT", "stale", extra_details=[small]), "sync.symphony.dev"
    )
    assert unpack(status, error_details_pb2.ResourceInfo).description == "x" * 2_000
    assert "details_omitted" not in unpack(status, error_details_pb2.ErrorInfo).metadata
