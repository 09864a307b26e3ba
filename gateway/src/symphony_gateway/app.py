"""The gateway's Starlette app.

Order of a request: request id (outermost, so every response carries `x-request-id`) → CORS →
Starlette's routes (`/healthz`, `/openapi.json`, then any hand-written routes) → the generic
transcoder for everything else, which answers unknown routes with a 404 envelope.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from symphony_gateway.backends import Backends, backend_of_package
from symphony_gateway.config import GatewaySettings
from symphony_gateway.discovery import discover_services
from symphony_gateway.errors import (
    HTTP_STATUS,
    GatewayError,
    envelope,
    gateway_error,
    response_headers,
)
from symphony_gateway.middleware import RequestContextMiddleware
from symphony_gateway.openapi import build_openapi
from symphony_gateway.transcoder import Transcoder
from symphony_gateway.transcoding.router import Router, build_routes

_STATUS_OF_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    405: grpc.StatusCode.UNIMPLEMENTED,
    409: grpc.StatusCode.ABORTED,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}

CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "x-request-id",
    "traceparent",
    "tracestate",
    "last-event-id",
]
CORS_EXPOSE_HEADERS = ["x-request-id", "retry-after", "www-authenticate"]


def error_response(error: GatewayError) -> Response:
    """A Starlette response with the error envelope, for hand-written routes."""
    headers = {k.decode(): v.decode("latin-1") for k, v in response_headers(error)}
    return Response(envelope(error), status_code=error.http_status, headers=headers)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _STATUS_OF_HTTP.get(exc.status_code, grpc.StatusCode.UNKNOWN)
    if code is grpc.StatusCode.UNKNOWN and exc.status_code >= 500:
        code = grpc.StatusCode.INTERNAL
    elif code is grpc.StatusCode.UNKNOWN:
        code = grpc.StatusCode.FAILED_PRECONDITION
    reason = {404: "ROUTE_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    error = gateway_error(
        code,
        str(exc.detail),
        reason,
        http_status=exc.status_code,
        headers=list((exc.headers or {}).items()),
    )
    return error_response(error)


def create_app(
    settings: GatewaySettings | None = None,
    backends: Backends | None = None,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    services: Sequence[ServiceDescriptor] | None = None,
) -> Starlette:
    """Build the gateway.

    `extra_routes` are hand-written Starlette routes (`Route`, `Mount`) tried before the generic
    router: raw package upload/download and the Open VSX API mount here. They find the
    settings and backends on `request.app.state` and the request id on
    `request.state.request_id`; `error_response(GatewayError)` renders the envelope.
    """
    settings = settings or GatewaySettings()
    backends = backends if backends is not None else Backends.from_env()
    services = discover_services() if services is None else services

    backend_of: dict[str, str] = {}
    for service in services:
        backend = backend_of_package(service.file.package)
        if backend is not None and backend in backends:
            backend_of[service.file.package] = backend
    router = Router(build_routes(services, backend_of))
    transcoder = Transcoder(router, backends, settings)
    openapi_body = json.dumps(build_openapi(router.routes), separators=(",", ":")).encode()

    async def openapi(request: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    async def healthz(request: Request) -> Response:
        statuses = await backends.check_all(settings.health_timeout_seconds)
        failing = {name: status for name, status in statuses.items() if status != "SERVING"}
        if not failing:
            return Response(
                json.dumps({"status": "SERVING", "backends": statuses}),
                media_type="application/json",
            )
        names = ", ".join(f"{name} ({status})" for name, status in sorted(failing.items()))
        error = gateway_error(
            grpc.StatusCode.UNAVAILABLE, f"Not serving: {names}.", "BACKEND_NOT_SERVING"
        )
        error.details[0]["metadata"] = failing
        response = error_response(error)
        return response

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await backends.close()

    middleware = [Middleware(RequestContextMiddleware)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=CORS_ALLOW_HEADERS,
                expose_headers=CORS_EXPOSE_HEADERS,
                allow_credentials=True,
                max_age=600,
            )
        )
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            *extra_routes,
        ],
        middleware=middleware,
        exception_handlers={HTTPException: _http_exception},
        lifespan=lifespan,
    )
    app.router.default = transcoder
    app.router.redirect_slashes = False  # it would re-scan every route on each generic request
    app.state.settings = settings
    app.state.backends = backends
    app.state.router = router
    return app


__all__ = ["HTTP_STATUS", "GatewayError", "create_app", "error_response"]
