"""The generic endpoint: HTTP request → request message → gRPC call → JSON (or SSE).

A raw ASGI app on the hot path: one dispatch-table lookup, one compiled regex, the
precomputed setters of the route, one gRPC call, and one `send` per response part.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from typing import Any
from urllib.parse import quote

import grpc

from symphony_gateway.backends import Backends
from symphony_gateway.config import GatewaySettings, IPNetwork
from symphony_gateway.errors import (
    GatewayError,
    bad_request,
    envelope,
    from_rpc_error,
    gateway_error,
    send_error,
)
from symphony_gateway.middleware import request_id_of
from symphony_gateway.transcoding.path_template import decode
from symphony_gateway.transcoding.router import Route, Router

log = logging.getLogger(__name__)

_JSON_HEADERS = (b"content-type", b"application/json")
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


# The browser's User-Agent as forwarded to the services.
USER_AGENT_HEADER = "x-user-agent"


class ClientGone(Exception):
    """The client disconnected while the gateway read its body."""


def _metadata_safe(value: str) -> bool:
    return value.isascii() and value.isprintable()


class Transcoder:
    """ASGI app serving every route of a Router."""

    def __init__(self, router: Router, backends: Backends, settings: GatewaySettings) -> None:
        self.router = router
        self.backends = backends
        self.max_body = settings.max_body_bytes
        self.timeout = settings.rpc_timeout_seconds
        self.stream_timeout = settings.stream_timeout_seconds
        self.trusted: tuple[IPNetwork, ...] = settings.trusted_networks()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request_id = request_id_of(scope)
        try:
            await self._handle(scope, receive, send, request_id)
        except GatewayError as error:
            if error.http_status >= 500:
                log.warning(
                    "%s %s failed: %s",
                    scope["method"],
                    scope["path"],
                    error.code.name,
                    extra={"request_id": request_id},
                )
            await send_error(send, error)
        except ClientGone:
            return

    async def _handle(self, scope: Any, receive: Any, send: Any, request_id: str) -> None:
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope["path"])
        route, found = self.router.match(scope["method"], path)

        content_length = None
        authorization = traceparent = tracestate = forwarded = user_agent = last_event_id = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                tracestate = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
            elif name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"last-event-id":
                last_event_id = value.decode("latin-1")

        message = route.request_cls()
        body_obj = None
        if route.body.mode:
            raw = await self._read_body(receive, content_length)
            body_obj = route.body.apply(message, raw)
        for group, multi_segment, setter in route.path_vars:
            try:
                value = decode(found.group(group), multi_segment)
            except UnicodeDecodeError:
                raise bad_request(
                    f"Path parameter '{setter.name}' is not valid UTF-8.", setter.name
                ) from None
            setter.set(message, value)
        query_string = scope.get("query_string")
        if query_string:
            route.query.apply(message, query_string)
        if body_obj is not None and route.body.update_mask is not None:
            route.body.derive_update_mask(message, body_obj)
        if route.resume is not None and last_event_id:
            _resume_from(message, route.resume.request_field, last_event_id)

        metadata: list[tuple[str, str]] = [("x-request-id", request_id)]
        if authorization is not None:
            if not _metadata_safe(authorization):
                raise bad_request("The Authorization header is malformed.", "authorization")
            metadata.append(("authorization", authorization))
        if traceparent is not None and _metadata_safe(traceparent):
            metadata.append(("traceparent", traceparent))
            if tracestate is not None and _metadata_safe(tracestate):
                metadata.append(("tracestate", tracestate))
        client = self._client_address(scope, forwarded)
        if client:
            metadata.append(("x-forwarded-for", client))
        # gRPC sets its own user-agent on every call, so the browser's travels under another
        # name (auth shows it in the session list and the audit log).
        if user_agent and _metadata_safe(user_agent):
            metadata.append((USER_AGENT_HEADER, user_agent[:300]))

        if route.server_streaming:
            await self._stream(route, message, tuple(metadata), receive, send, request_id)
            return
        call = route.call
        if call is None:
            call = route.call = self.backends.unary_unary(
                route.backend,
                route.rpc_path,
                route.request_cls.SerializeToString,
                route.response_cls.FromString,
            )
        try:
            reply = await call(message, timeout=self.timeout, metadata=tuple(metadata))
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, route.backend, request_id) from None
        body = self._render(route, reply)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [_JSON_HEADERS, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _render(route: Route, reply: Any) -> bytes:
        rendered = route.encode(reply)
        if route.response_field is not None:
            field = reply.DESCRIPTOR.fields_by_name[route.response_field]
            rendered = rendered.get(field.json_name)
        return json.dumps(rendered, separators=(",", ":"), ensure_ascii=False).encode()

    def _client_address(self, scope: Any, forwarded: str | None) -> str | None:
        """The client's address; hops of X-Forwarded-For are believed only while they come
        from a trusted proxy (walking from the nearest hop outwards)."""
        peer = scope.get("client")
        address = peer[0] if peer else None
        if not address or not self.trusted or not forwarded:
            return address
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        while hops and self._is_trusted(address):
            address = hops.pop()
        return address if _metadata_safe(address) else None

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    async def _read_body(self, receive: Any, content_length: bytes | None) -> bytes:
        limit = self.max_body
        if content_length is not None:
            try:
                declared = int(content_length)
            except ValueError:
                raise bad_request("Content-Length is not a number.") from None
            if declared > limit:
                raise too_large(limit)
        chunks: list[bytes] = []
        total = 0
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                raise ClientGone
            chunk = event.get("body", b"")
            if chunk:
                total += len(chunk)
                if total > limit:
                    raise too_large(limit)
                chunks.append(chunk)
            if not event.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _stream(
        self,
        route: Route,
        message: Any,
        metadata: tuple[tuple[str, str], ...],
        receive: Any,
        send: Any,
        request_id: str,
    ) -> None:
        """Server-streaming RPC → Server-Sent Events: `data: <json>` per message, an
        `event: error` carrying the envelope if the stream fails after it started. A failure
        before the first message is an ordinary HTTP error response."""
        call_factory = route.call
        if call_factory is None:
            call_factory = route.call = self.backends.unary_stream(
                route.backend,
                route.rpc_path,
                route.request_cls.SerializeToString,
                route.response_cls.FromString,
            )
        call = call_factory(message, timeout=self.stream_timeout, metadata=metadata)
        try:
            item = await call.read()
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, route.backend, request_id) from None

        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                event = await receive()
                if event["type"] == "http.disconnect":
                    disconnected.set()
                    call.cancel()
                    return

        watcher = asyncio.ensure_future(watch())
        await send({"type": "http.response.start", "status": 200, "headers": list(_SSE_HEADERS)})
        try:
            resume = route.resume
            while item is not grpc.aio.EOF:  # type: ignore[attr-defined]
                event = b"data: " + self._render(route, item) + b"\n\n"
                if resume is not None and (cursor := getattr(item, resume.response_field)):
                    event = b"id: %d\n" % cursor + event
                await send({"type": "http.response.body", "body": event, "more_body": True})
                item = await call.read()
        except grpc.aio.AioRpcError as error:
            if not disconnected.is_set():
                failure = from_rpc_error(error, route.backend, request_id)
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"event: error\ndata: " + envelope(failure) + b"\n\n",
                        "more_body": True,
                    }
                )
        except asyncio.CancelledError:
            call.cancel()
            raise
        finally:
            watcher.cancel()
        if not disconnected.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def _resume_from(message: Any, field: str, last_event_id: str) -> None:
    """A reconnecting EventSource's Last-Event-ID becomes the stream's starting point, unless
    the query already chose one."""
    if getattr(message, field):
        return
    try:
        value = int(last_event_id)
    except ValueError:
        raise bad_request(
            "Last-Event-ID must be an event id this stream sent.", "Last-Event-ID"
        ) from None
    try:
        setattr(message, field, value)
    except ValueError:
        raise bad_request("Last-Event-ID is out of range.", "Last-Event-ID") from None


def too_large(limit: int) -> GatewayError:
    return gateway_error(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"The request body is larger than {limit} bytes.",
        "BODY_TOO_LARGE",
        http_status=413,
    )
