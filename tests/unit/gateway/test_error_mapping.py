import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from symphony_gateway.errors import (
    HTTP_STATUS,
    envelope,
    from_rpc_error,
    response_headers,
)


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details, status=None):
        self._code, self._details = code, details
        self._trailers = (
            (("grpc-status-details-bin", status.SerializeToString()),) if status else ()
        )

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailers


def packed(message):
    detail = any_pb2.Any()
    detail.Pack(message)
    return detail


@pytest.mark.parametrize(
    ("code", "http"),
    [
        ("OK", 200),
        ("CANCELLED", 499),
        ("UNKNOWN", 500),
        ("INVALID_ARGUMENT", 400),
        ("DEADLINE_EXCEEDED", 504),
        ("NOT_FOUND", 404),
        ("ALREADY_EXISTS", 409),
        ("PERMISSION_DENIED", 403),
        ("UNAUTHENTICATED", 401),
        ("RESOURCE_EXHAUSTED", 429),
        ("FAILED_PRECONDITION", 400),
        ("ABORTED", 409),
        ("OUT_OF_RANGE", 400),
        ("UNIMPLEMENTED", 501),
        ("INTERNAL", 500),
        ("UNAVAILABLE", 503),
        ("DATA_LOSS", 500),
    ],
)
def test_code_proto_http_mapping(code, http):
    assert HTTP_STATUS[getattr(grpc.StatusCode, code)] == http


def test_rich_status_details_render_with_type_and_retry_after():
    status = status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED,
        message="Slow down.",
        details=[
            packed(error_details_pb2.ErrorInfo(reason="RATE_LIMITED", domain="auth.symphony.dev")),
            packed(
                error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=1))
            ),
        ],
    )
    error = from_rpc_error(
        FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "Slow down.", status), "auth", "r1"
    )
    assert error.http_status == 429
    assert error.details[0] == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMITED",
        "domain": "auth.symphony.dev",
    }
    headers = dict(response_headers(error))
    assert headers[b"retry-after"] == b"3"  # rounded up
    import json

    body = json.loads(envelope(error))
    assert body["error"]["code"] == 429
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert body["error"]["message"] == "Slow down."


def test_unknown_detail_type_keeps_bytes():
    status = status_pb2.Status(
        code=5, message="x", details=[any_pb2.Any(type_url="type.example/Nope", value=b"\x01")]
    )
    error = from_rpc_error(FakeRpcError(grpc.StatusCode.NOT_FOUND, "x", status), "auth", "r")
    assert error.details == [{"@type": "type.example/Nope", "value": "AQ=="}]


def test_unauthenticated_carries_www_authenticate():
    error = from_rpc_error(FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "Sign in."), "auth", "r")
    assert (b"www-authenticate", b"Bearer") in response_headers(error)
    assert error.message == "Sign in."


def test_exception_text_never_reaches_the_client():
    leaked = "Unexpected <class 'KeyError'>: 'secret'"
    error = from_rpc_error(FakeRpcError(grpc.StatusCode.UNKNOWN, leaked), "sync", "req-9")
    assert "secret" not in error.message and "req-9" in error.message
    assert error.http_status == 500


def test_unreachable_backend_is_503_with_retry_after_and_no_addresses():
    error = from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses; ipv4:127.0.0.1:1"
        ),
        "registry",
        "r",
    )
    assert error.http_status == 503
    assert "127.0.0.1" not in error.message and "registry" in error.message
    assert b"retry-after" in dict(response_headers(error))
