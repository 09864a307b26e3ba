"""Pure-ASGI middleware (no BaseHTTPMiddleware: it costs a task per request)."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import grpc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from symphony_gateway.errors import GatewayError, send_error

log = logging.getLogger(__name__)

# A client's request id is echoed only when it is a plain token of sane length.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/@-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The request id the middleware stored in the scope."""
    return scope["state"]["request_id"]


class RequestContextMiddleware:
    """Gives every request an `x-request-id` (the client's, or a new one), puts it in
    `scope["state"]` (so `request.state.request_id` works in hand-written routes), adds it to
    every response, and turns an unexpected exception into a 500 envelope that carries the id
    and none of the exception's text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID.fullmatch(candidate):
                    request_id = candidate
                break
        if request_id is None:
            request_id = secrets.token_hex(16)
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error", extra={"request_id": request_id, "path": scope.get("path")}
            )
            if not started:
                await send_error(send_with_id, internal_error(request_id))


def internal_error(request_id: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.INTERNAL, f"Internal error (request id {request_id}).")


def header_value(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


__all__ = ["Any", "RequestContextMiddleware", "header_value", "internal_error", "request_id_of"]
