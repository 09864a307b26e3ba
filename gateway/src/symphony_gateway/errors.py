"""gRPC status → HTTP, and the JSON error envelope.

`{"error": {"code": <http status>, "message": ..., "status": "NOT_FOUND", "details": [...]}}`,
with the details of the `grpc-status-details-bin` trailer rendered as proto3 JSON (`@type`).
Exception text never reaches a client: messages come from the backend's deliberate status,
from the gateway's own checks, or are generic.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2, status_pb2

# google/rpc/code.proto, "HTTP Mapping".
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}
_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}

# Codes whose plain-text message may carry library or exception text (an unhandled servicer
# exception is UNKNOWN "Unexpected <class ...>: ...", a refused connection names addresses):
# without a deliberate google.rpc.Status from the backend, the gateway says something generic.
_GENERIC_MESSAGES: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.UNKNOWN: "Internal error.",
    grpc.StatusCode.INTERNAL: "Internal error.",
    grpc.StatusCode.DATA_LOSS: "Internal error.",
    grpc.StatusCode.UNAVAILABLE: "The service is unavailable; retry later.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "The service did not answer in time.",
    grpc.StatusCode.CANCELLED: "The request was cancelled.",
}

DEFAULT_RETRY_AFTER_SECONDS = 1
_DETAILS_KEY = "grpc-status-details-bin"
_RETRY_INFO = error_details_pb2.RetryInfo.DESCRIPTOR.full_name


class GatewayError(Exception):
    """An error the gateway answers itself, already in client-facing terms."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        details: Sequence[dict[str, Any]] = (),
        http_status: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)
        self.http_status = http_status if http_status is not None else HTTP_STATUS[code]
        self.headers = list(headers)


def bad_request(
    message: str, field: str | None = None, reason: str = "INVALID_REQUEST"
) -> GatewayError:
    """A 400 INVALID_ARGUMENT naming the offending field in a BadRequest detail."""
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "gateway.symphony.dev",
            "metadata": {"field": field} if field else {},
        }
    ]
    if field:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}],
            }
        )
    return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, message, details=details)


def gateway_error(
    code: grpc.StatusCode, message: str, reason: str, *, http_status: int | None = None, **kw: Any
) -> GatewayError:
    """An error raised by the gateway with an ErrorInfo of domain `gateway.symphony.dev`."""
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "gateway.symphony.dev",
        "metadata": {},
    }
    return GatewayError(code, message, details=[info], http_status=http_status, **kw)


def unavailable(backend: str) -> GatewayError:
    """Backend unreachable: 503 with Retry-After."""
    error = gateway_error(
        grpc.StatusCode.UNAVAILABLE,
        f"The {backend} service is unavailable; retry later.",
        "BACKEND_UNAVAILABLE",
    )
    error.details[0]["metadata"] = {"service": backend}
    error.details.append(
        {
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": f"{DEFAULT_RETRY_AFTER_SECONDS}s",
        }
    )
    return error


def render_any(detail: any_pb2.Any) -> dict[str, Any]:
    """One `google.protobuf.Any` as proto3 JSON; an unknown type keeps its bytes in base64."""
    try:
        return json_format.MessageToDict(detail)
    except Exception:  # unknown type: keep the bytes
        return {"@type": detail.type_url, "value": base64.b64encode(detail.value).decode()}


def _retry_after(status: status_pb2.Status) -> int | None:
    for detail in status.details:
        if detail.type_url.rpartition("/")[2] == _RETRY_INFO:
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                delay = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
                return max(1, math.ceil(delay))
    return None


def from_rpc_error(error: grpc.RpcError, backend: str, request_id: str) -> GatewayError:
    """Translate a failed call into the envelope's terms."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    if code is None or code not in HTTP_STATUS:
        code = grpc.StatusCode.UNKNOWN
    rich: status_pb2.Status | None = None
    trailers: Any = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            try:
                rich = status_pb2.Status.FromString(value)
            except Exception:  # a corrupt trailer must not turn into a 500 of its own
                rich = None
            break
    if rich is None and code is grpc.StatusCode.UNAVAILABLE:
        return unavailable(backend)
    headers: list[tuple[str, str]] = []
    details: list[dict[str, Any]] = []
    if rich is not None:
        message = rich.message
        details = [render_any(d) for d in rich.details]
        retry_after = _retry_after(rich)
        if retry_after is not None:
            headers.append(("retry-after", str(retry_after)))
        elif code is grpc.StatusCode.UNAVAILABLE:
            headers.append(("retry-after", str(DEFAULT_RETRY_AFTER_SECONDS)))
    elif code in _GENERIC_MESSAGES:
        message = _GENERIC_MESSAGES[code]
    else:
        message = (error.details() if hasattr(error, "details") else None) or code.name
    internal = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS)
    if code in internal and (rich is None or code is grpc.StatusCode.UNKNOWN):
        message = f"Internal error (request id {request_id})."
    return GatewayError(code, message, details=details, headers=headers)


def envelope(error: GatewayError) -> bytes:
    """The JSON body of an error response."""
    return json.dumps(
        {
            "error": {
                "code": error.http_status,
                "message": error.message,
                "status": error.code.name,
                "details": error.details,
            }
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def response_headers(error: GatewayError) -> list[tuple[bytes, bytes]]:
    """Headers of an error response (content type, Retry-After, WWW-Authenticate)."""
    headers = [(b"content-type", b"application/json")]
    names = {name.lower() for name, _ in error.headers}
    headers.extend(
        (name.lower().encode(), value.encode("latin-1")) for name, value in error.headers
    )
    if error.code is grpc.StatusCode.UNAUTHENTICATED and "www-authenticate" not in names:
        headers.append((b"www-authenticate", b"Bearer"))
    if error.http_status == 503 and "retry-after" not in names:
        headers.append((b"retry-after", str(DEFAULT_RETRY_AFTER_SECONDS).encode()))
    return headers


async def send_error(send: Any, error: GatewayError) -> None:
    """Send a complete error response over raw ASGI."""
    body = envelope(error)
    headers = response_headers(error)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": error.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def code_from_number(number: int) -> grpc.StatusCode:
    """grpc.StatusCode of a google.rpc.Code number (UNKNOWN when out of range)."""
    return _BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN)
