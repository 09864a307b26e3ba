"""The server interceptor chain: request id → access log and metrics → authentication →
domain error mapping. One interceptor wraps every handler kind, once, as the service registers
it; each step then runs once per call in the call's own task (so context variables are per
call)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf.message import Message
from prometheus_client import Counter, Histogram

from symphony_common.context import (
    Principal,
    current_request_id,
    new_request_id,
    principal_var,
    request_id_var,
    traceparent_var,
)
from symphony_common.errors import DomainError, InvalidArgument, PermissionDenied, Unavailable
from symphony_common.grpc import wellformed
from symphony_common.grpc.status import (
    domain_error_status,
    internal_status,
    to_grpc_status,
)

log = logging.getLogger("symphony.access")
errors_log = logging.getLogger("symphony.errors")

REQUESTS = Counter(
    "symphony_grpc_requests_total", "gRPC requests handled", ["service", "method", "code"]
)
LATENCY = Histogram(
    "symphony_grpc_request_seconds",
    "gRPC handling time",
    ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

Authenticate = Callable[[dict[str, str], str], Awaitable[Principal]]


def _logged_peer(context: grpc.aio.ServicerContext) -> str:
    """The peer for the access log, read as the call starts (see `streaming`); a C call, so
    skipped when the log is off."""
    return context.peer() if log.isEnabledFor(logging.INFO) else ""


def _code_name(context: grpc.aio.ServicerContext) -> str:
    code = context.code()
    if code is None:
        return "OK"
    if isinstance(code, grpc.StatusCode):
        return code.name
    return grpc.StatusCode(code).name if isinstance(code, tuple) else str(code)


class ServiceInterceptor:
    """Wraps a service's method handlers (see `WrappingRegistrar`). `domain` is the error
    domain (`auth.symphony.dev`); `authenticate` turns call metadata into a `Principal` or
    raises `Unauthenticated`."""

    def __init__(
        self,
        domain: str,
        authenticate: Authenticate,
        service: str,
        *,
        checks_own_times: frozenset[str] = frozenset(),
        internal_callers: Mapping[str, frozenset[str]] | None = None,
        raw_requests: frozenset[str] = frozenset(),
    ) -> None:
        self.domain = domain
        self.authenticate = authenticate
        self.service = service
        self.checks_own_times = checks_own_times
        self.raw_requests = raw_requests
        self.internal_callers = internal_callers or {}

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The same steps around each of the four handler kinds: the request side (one message
        or an iterator) is passed through untouched, the response side is awaited or iterated."""
        short = method.rsplit("/", 1)[-1]
        # The metrics' children of the usual outcome, looked up once (`labels` takes a lock).
        ok = REQUESTS.labels(self.service, short, "OK"), LATENCY.labels(self.service, short)
        callers = self.internal_callers.get(method)  # None: any caller the method accepts
        # Requests arrive as bytes and are decoded here, after the request id is set: grpc.aio
        # would otherwise answer undecodable bytes with UNKNOWN and the parser's text.
        decode = _decoder(
            None if method in self.raw_requests else handler.request_deserializer,
            method not in self.checks_own_times,
        )
        serializers = {
            "request_deserializer": None,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary or handler.stream_unary:
            respond: Any = handler.unary_unary or handler.stream_unary
            streamed_in = handler.stream_unary is not None

            async def single(request: Any, context: grpc.aio.ServicerContext) -> Any:
                started = time.perf_counter()
                peer = _logged_peer(context)
                try:
                    await self._enter(context, method, callers)
                    decoded = _decode_stream(request, decode) if streamed_in else decode(request)
                    return await respond(decoded, context)
                except BaseException as exc:
                    await self._fail(exc, context, method)
                    raise
                finally:
                    self._leave(context, method, short, started, peer, ok)

            if handler.unary_unary:
                return grpc.unary_unary_rpc_method_handler(single, **serializers)
            return grpc.stream_unary_rpc_method_handler(single, **serializers)

        stream: Any = handler.unary_stream or handler.stream_stream
        streams_in = handler.stream_stream is not None

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            # Read now: when the client goes away, grpc.aio closes this generator after the call
            # is released, and asking the released call for its peer then crashes the process.
            peer = _logged_peer(context)
            cancelled = False
            try:
                await self._enter(context, method, callers)
                decoded = _decode_stream(request, decode) if streams_in else decode(request)
                async for item in stream(decoded, context):
                    yield item
            except (GeneratorExit, asyncio.CancelledError):
                cancelled = True
                raise
            except BaseException as exc:
                await self._fail(exc, context, method)
                raise
            finally:
                self._leave(context, method, short, started, peer, ok, cancelled=cancelled)

        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(streaming, **serializers)
        return grpc.stream_stream_rpc_method_handler(streaming, **serializers)

    async def _enter(
        self, context: grpc.aio.ServicerContext, method: str, callers: frozenset[str] | None
    ) -> None:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        incoming = metadata.get("x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else new_request_id()
        request_id_var.set(request_id)
        traceparent_var.set(metadata.get("traceparent", "")[:128])
        context.set_trailing_metadata((("x-request-id", request_id),))
        principal = await self.authenticate(metadata, method)
        # An unnamed service (the bare shared secret, a peer not yet upgraded) is let through:
        # it holds the secret every credential is made from.
        if callers is not None and principal.service and principal.service not in callers:
            raise PermissionDenied(
                "SERVICE_NOT_ALLOWED",
                f"the {principal.service} service may not call {method.rsplit('/', 1)[-1]}",
            )
        principal_var.set(principal)

    async def _fail(
        self, exc: BaseException, context: grpc.aio.ServicerContext, method: str
    ) -> None:
        """Map `exc` to a status and abort; `context.abort` raises, so this never returns for
        errors it maps. Aborts raised by handlers and cancellations pass through unchanged."""
        if isinstance(exc, grpc.aio.AbortError | GeneratorExit) or not isinstance(exc, Exception):
            return
        request_id = current_request_id()
        if isinstance(exc, DomainError):
            status = domain_error_status(exc, self.domain, request_id)
        elif isinstance(exc, NotImplementedError):
            status = domain_error_status(
                DomainError(
                    reason="NOT_IMPLEMENTED",
                    message=f"{method.rsplit('/', 1)[-1]} is not implemented yet",
                ),
                self.domain,
                request_id,
            )
            status.code = grpc.StatusCode.UNIMPLEMENTED.value[0]
        elif _is_db_data_error(exc):
            # The database refused a value as data (a NUL in text, a number out of range):
            # the request was bad, and validation upstream did not catch it.
            log.warning(
                "database refused a value", extra={"method": method, "error": type(exc).__name__}
            )
            status = domain_error_status(
                InvalidArgument("INVALID_VALUE", "a field holds a value that cannot be stored"),
                self.domain,
                request_id,
            )
        elif _is_db_unavailable(exc):
            status = domain_error_status(
                Unavailable(
                    "DATABASE_UNAVAILABLE",
                    "the database is unavailable; retry shortly",
                    retry_after_seconds=1.0,
                ),
                self.domain,
                request_id,
            )
        else:
            errors_log.exception("unhandled error in %s", method)
            status = internal_status(self.domain, request_id)
        grpc_status = to_grpc_status(status)
        await context.abort(
            grpc_status.code,
            grpc_status.details,
            trailing_metadata=(*grpc_status.trailing_metadata, ("x-request-id", request_id)),
        )

    def _leave(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        short: str,
        started: float,
        peer: str,
        ok: tuple[Any, Any],
        *,
        cancelled: bool = False,
    ) -> None:
        """Metrics and the access log line. Reads only what the context keeps in Python (the
        code), never the underlying call, which may already be released. `ok`: the method's
        (requests with code OK, latency) metric children."""
        elapsed = time.perf_counter() - started
        code = "CANCELLED" if cancelled else _code_name(context)
        if code == "OK":
            ok[0].inc()
        else:
            REQUESTS.labels(self.service, short, code).inc()
        ok[1].observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "rpc",
                extra={
                    "method": method,
                    "code": code,
                    "duration_ms": round(elapsed * 1000, 3),
                    "peer": peer,
                },
            )


def decode_request(
    deserialize: Callable[[bytes], Any], raw: bytes, *, check_times: bool = True
) -> Any:
    """The request message from its bytes, or InvalidArgument (MALFORMED_REQUEST, or a
    Timestamp/Duration out of range when `check_times`). Also for a handler that receives its
    request's bytes (`ServiceDefinition.raw_requests`) and decodes them itself."""
    try:
        message = deserialize(raw)
    except Exception:
        raise InvalidArgument(
            "MALFORMED_REQUEST",
            "the request is not a valid message of the method's request type",
        ) from None
    if check_times and isinstance(message, Message):
        wellformed.check(message)
    return message


def _decoder(
    deserialize: Callable[[bytes], Any] | None, check_times: bool = True
) -> Callable[[bytes], Any]:
    def decode(raw: bytes) -> Any:
        if deserialize is None:
            return raw
        return decode_request(deserialize, raw, check_times=check_times)

    return decode


async def _decode_stream(
    raw_messages: AsyncIterator[bytes], decode: Callable[[bytes], Any]
) -> AsyncIterator[Any]:
    async for raw in raw_messages:
        yield decode(raw)


def _is_db_unavailable(exc: BaseException) -> bool:
    """Connection-level database failures that escaped a repository (pool exhausted,
    server gone): the client should retry, not see INTERNAL."""
    names = {type(e).__name__ for e in _chain(exc)}
    return bool(
        names
        & {"OperationalError", "InterfaceError", "ConnectionTimeout", "PoolTimeout", "TimeoutError"}
    )


def _is_db_data_error(exc: BaseException) -> bool:
    return any(
        type(e).__name__ in ("DataError", "NumericValueOutOfRange", "StringDataRightTruncation")
        for e in _chain(exc)
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


class WrappingRegistrar:
    """What a service's `register` sees in place of the server: each method handler that the
    generated `add_*_to_server` functions hand over is wrapped by the service interceptor once,
    at registration. Same steps as `intercept_service`, without grpc.aio's per-call interceptor
    machinery (a handler lookup and an extra coroutine per call, ~10% of a small call's CPU)."""

    def __init__(self, server: grpc.aio.Server, interceptor: ServiceInterceptor) -> None:
        self._server = server
        self._interceptor = interceptor
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._interceptor.wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers([_WrappedGeneric(h, self._wrap) for h in handlers])

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        # Not in the grpc-stubs typing of Server yet; grpcio has had it since 1.63.
        self._server.add_registered_method_handlers(  # type: ignore[attr-defined]
            service_name,
            {
                name: self._wrap(handler, f"/{service_name}/{name}")
                for name, handler in method_handlers.items()
            },
        )


class _WrappedGeneric(grpc.GenericRpcHandler):
    def __init__(
        self,
        inner: grpc.GenericRpcHandler,
        wrap: Callable[[grpc.RpcMethodHandler, str], grpc.RpcMethodHandler],
    ) -> None:
        self._inner = inner
        self._wrap = wrap

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(handler_call_details)
        if handler is None:
            return None
        return self._wrap(handler, handler_call_details.method or "")
