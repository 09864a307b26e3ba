"""IN-5: an exception raised behind `ServiceInterceptor` reaches the client as a generic
INTERNAL with the request id and nothing else; domain errors keep their code and reason; a
method the servicer does not implement is UNIMPLEMENTED with reason NOT_IMPLEMENTED.

A real `grpc.aio` server on a free port serves `symphony.testing.v1.EchoService` through the
interceptor, with the real `Authenticator` (EchoService is public, so calls are anonymous)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import text_format
from google.rpc import error_details_pb2, status_pb2

from symphony.testing.v1 import echo_service_pb2, echo_service_pb2_grpc
from symphony_common.errors import invalid_field, not_found
from symphony_common.grpc.interceptors import ServiceInterceptor, WrappingRegistrar
from symphony_common.tokens import Authenticator
from tests.fuzz.strategies import LEAK_MARKERS

DOMAIN = "testing.symphony.dev"
SECRET = "secret SELECT * FROM users /tmp/x.py symp_abc"
# The secret's every part, plus what the exception itself would look like.
FORBIDDEN = ("secret", "SELECT", "users", "/tmp", "x.py", "symp_", "RuntimeError", "Traceback")
GENERIC = re.compile(r"^internal error \(request id ([A-Za-z0-9._:-]{1,128})\)$")


class FailingEcho(echo_service_pb2_grpc.EchoServiceServicer):
    """Echo fails as its message asks; Expand sends one message and then raises."""

    async def Echo(
        self, request: echo_service_pb2.EchoRequest, context: grpc.aio.ServicerContext
    ) -> echo_service_pb2.EchoResponse:
        if request.message == "boom":
            raise RuntimeError(SECRET)
        if request.message == "boom-chained":
            try:
                raise KeyError("/srv/app/db/repository.py: INSERT INTO users VALUES ('eyJhbGciOi')")
            except KeyError as cause:
                raise ValueError("psycopg.errors.UniqueViolation: duplicate key") from cause
        if request.message == "missing":
            raise not_found("book", "shelves/1/books/2")
        if request.message == "invalid":
            raise invalid_field("message", "must not be 'invalid'")
        return echo_service_pb2.EchoResponse(request=request)

    async def Expand(
        self, request: echo_service_pb2.ExpandRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[echo_service_pb2.EchoResponse]:
        yield echo_service_pb2.EchoResponse(sequence=0)
        raise RuntimeError(SECRET)


@pytest.fixture
async def channels() -> AsyncIterator[dict[str, grpc.aio.Channel]]:
    """`failing`: FailingEcho; `bare`: the generated base servicer (implements nothing)."""
    authenticator = Authenticator(service_token="in5-service-token")
    servers, opened = [], {}
    for name, servicer in (
        ("failing", FailingEcho()),
        ("bare", echo_service_pb2_grpc.EchoServiceServicer()),
    ):
        server = grpc.aio.server()
        echo_service_pb2_grpc.add_EchoServiceServicer_to_server(
            servicer,
            WrappingRegistrar(server, ServiceInterceptor(DOMAIN, authenticator, "testing")),
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        opened[name] = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield opened
    finally:
        for channel in opened.values():
            await channel.close()
        for server in servers:
            await server.stop(None)


def _status(err: grpc.aio.AioRpcError) -> status_pb2.Status:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError(f"no google.rpc.Status in the trailers of {err.code().name}")


def _detail(status: status_pb2.Status, cls: type) -> object | None:
    for detail in status.details:
        message = cls()
        if detail.Unpack(message):
            return message
    return None


def _everything_visible(err: grpc.aio.AioRpcError) -> str:
    parts = [err.details() or ""]
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            parts.append(text_format.MessageToString(status))
            for cls in (
                error_details_pb2.ErrorInfo,
                error_details_pb2.DebugInfo,
                error_details_pb2.BadRequest,
                error_details_pb2.ResourceInfo,
            ):
                if (message := _detail(status, cls)) is not None:
                    parts.append(text_format.MessageToString(message))
            parts.extend(d.value.decode("utf-8", "replace") for d in status.details)
        else:
            parts.append(
                f"{key}: {value if isinstance(value, str) else value.decode('utf-8', 'replace')}"
            )
    return "\n".join(parts)


def _trailer(err: grpc.aio.AioRpcError, key: str) -> str | None:
    return next((v for k, v in err.trailing_metadata() or () if k == key), None)


def _assert_generic_internal(err: grpc.aio.AioRpcError, request_id: str | None = None) -> str:
    assert err.code() == grpc.StatusCode.INTERNAL
    match = GENERIC.match(err.details() or "")
    assert match, f"not the generic message: {err.details()!r}"
    rid = match.group(1)
    if request_id is not None:
        assert rid == request_id
    assert _trailer(err, "x-request-id") == rid
    status = _status(err)
    assert status.code == grpc.StatusCode.INTERNAL.value[0]
    assert status.message == err.details()
    info = _detail(status, error_details_pb2.ErrorInfo)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INTERNAL",
        DOMAIN,
        {"request_id": rid},
    )
    assert len(status.details) == 1, "an INTERNAL carries the ErrorInfo only (no DebugInfo)"
    visible = _everything_visible(err)
    leaked = [word for word in FORBIDDEN if word in visible] + LEAK_MARKERS.findall(visible)
    assert not leaked, f"the client can read {leaked}: {visible!r}"
    return rid


async def test_unexpected_exception_is_a_generic_internal(
    channels: dict[str, grpc.aio.Channel], caplog: pytest.LogCaptureFixture
) -> None:
    stub = echo_service_pb2_grpc.EchoServiceStub(channels["failing"])
    with (
        caplog.at_level(logging.ERROR, logger="symphony.errors"),
        pytest.raises(grpc.aio.AioRpcError) as raised,
    ):
        await stub.Echo(
            echo_service_pb2.EchoRequest(message="boom"),
            metadata=(("x-request-id", "in5-req-1"),),
            timeout=5,
        )
    _assert_generic_internal(raised.value, "in5-req-1")
    # The operator, unlike the client, gets the whole story in the log.
    logged = [r for r in caplog.records if r.name == "symphony.errors"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert SECRET in str(logged[0].exc_info[1])


async def test_server_generates_a_request_id_when_the_client_sends_none_or_a_bad_one(
    channels: dict[str, grpc.aio.Channel],
) -> None:
    stub = echo_service_pb2_grpc.EchoServiceStub(channels["failing"])
    seen = set()
    for metadata in ((), (("x-request-id", "bad id with spaces"),), (("x-request-id", "x" * 129),)):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.Echo(
                echo_service_pb2.EchoRequest(message="boom"), metadata=metadata, timeout=5
            )
        rid = _assert_generic_internal(raised.value)
        assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
        seen.add(rid)
    assert len(seen) == 3


async def test_chained_database_style_exception_stays_hidden(
    channels: dict[str, grpc.aio.Channel],
) -> None:
    stub = echo_service_pb2_grpc.EchoServiceStub(channels["failing"])
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Echo(echo_service_pb2.EchoRequest(message="boom-chained"), timeout=5)
    _assert_generic_internal(raised.value)
    visible = _everything_visible(raised.value)
    for word in ("psycopg", "UniqueViolation", "INSERT", "repository.py", "eyJ", "/srv"):
        assert word not in visible


async def test_exception_after_the_first_streamed_message(
    channels: dict[str, grpc.aio.Channel],
) -> None:
    stub = echo_service_pb2_grpc.EchoServiceStub(channels["failing"])
    call = stub.Expand(echo_service_pb2.ExpandRequest(count=2), timeout=5)
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for item in call:
            received.append(item)
    assert [r.sequence for r in received] == [0]
    _assert_generic_internal(raised.value)


async def test_domain_errors_keep_their_code_and_reason(
    channels: dict[str, grpc.aio.Channel],
) -> None:
    stub = echo_service_pb2_grpc.EchoServiceStub(channels["failing"])
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Echo(
            echo_service_pb2.EchoRequest(message="missing"),
            metadata=(("x-request-id", "in5-req-2"),),
            timeout=5,
        )
    err = raised.value
    assert err.code() == grpc.StatusCode.NOT_FOUND
    status = _status(err)
    info = _detail(status, error_details_pb2.ErrorInfo)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("BOOK_NOT_FOUND", DOMAIN)
    assert info.metadata["request_id"] == "in5-req-2"
    resource = _detail(status, error_details_pb2.ResourceInfo)
    assert isinstance(resource, error_details_pb2.ResourceInfo)
    assert resource.resource_name == "shelves/1/books/2"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Echo(echo_service_pb2.EchoRequest(message="invalid"), timeout=5)
    err = raised.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = _status(err)
    info = _detail(status, error_details_pb2.ErrorInfo)
    assert isinstance(info, error_details_pb2.ErrorInfo) and info.reason == "INVALID_FIELD"
    bad = _detail(status, error_details_pb2.BadRequest)
    assert isinstance(bad, error_details_pb2.BadRequest)
    assert [v.field for v in bad.field_violations] == ["message"]


async def test_a_method_the_servicer_lacks_is_not_implemented(
    channels: dict[str, grpc.aio.Channel],
) -> None:
    stub = echo_service_pb2_grpc.EchoServiceStub(channels["bare"])
    for call in (stub.Echo(echo_service_pb2.EchoRequest(message="hi"), timeout=5),):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        _assert_not_implemented(raised.value, "Echo")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in stub.Expand(echo_service_pb2.ExpandRequest(count=1), timeout=5):
            pass
    _assert_not_implemented(raised.value, "Expand")


def _assert_not_implemented(err: grpc.aio.AioRpcError, method: str) -> None:
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED
    info = _detail(_status(err), error_details_pb2.ErrorInfo)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("NOT_IMPLEMENTED", DOMAIN)
    assert method in (err.details() or "")
    assert not LEAK_MARKERS.search(_everything_visible(err))


async def test_the_happy_path_is_untouched(channels: dict[str, grpc.aio.Channel]) -> None:
    """The hygiene checks above would pass for a server that fails everything."""
    stub = echo_service_pb2_grpc.EchoServiceStub(channels["failing"])
    reply = await stub.Echo(echo_service_pb2.EchoRequest(message="fine"), timeout=5)
    assert reply.request.message == "fine"
