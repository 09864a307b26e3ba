"""Typed gRPC clients for peer services: every call has a deadline, only `UNAVAILABLE` is
retried (by gRPC's own retry policy), and the request id, trace context and service credential
travel along."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc

from symphony_common.context import current_request_id, traceparent_var
from symphony_common.tokens import (
    SERVICE_CREDENTIAL_HEADER,
    SERVICE_TOKEN_HEADER,
    service_credential,
)

DEFAULT_DEADLINE_SECONDS = 5.0


def retry_service_config(max_attempts: int = 4) -> str:
    """Retries on UNAVAILABLE only: the call never reached a handler, so retrying cannot
    repeat a side effect. Anything else is the caller's decision."""
    return json.dumps(
        {
            # With a `dns:///` address of a headless Service, calls spread over every pod
            # instead of sticking to the first connection.
            "loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [
                {
                    "name": [{}],
                    "retryPolicy": {
                        "maxAttempts": max_attempts,
                        "initialBackoff": "0.05s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
        }
    )


class _ClientMetadataInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamUnaryClientInterceptor,
):
    """Adds a default deadline when the caller gave none, and the request id and service
    credential headers."""

    def __init__(self, service_token: str, service_name: str, default_deadline: float) -> None:
        self.service_token = service_token
        self.credential = service_credential(service_token, service_name) if service_name else ""
        self.default_deadline = default_deadline

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = list(details.metadata or ())
        keys = {k for k, _ in metadata}
        request_id = current_request_id()
        if request_id and "x-request-id" not in keys:
            metadata.append(("x-request-id", request_id))
        traceparent = traceparent_var.get()
        if traceparent and "traceparent" not in keys:
            metadata.append(("traceparent", traceparent))
        if self.service_token and SERVICE_TOKEN_HEADER not in keys:
            metadata.append((SERVICE_TOKEN_HEADER, self.service_token))
        if self.credential and SERVICE_CREDENTIAL_HEADER not in keys:
            metadata.append((SERVICE_CREDENTIAL_HEADER, self.credential))
        timeout = details.timeout if details.timeout is not None else self.default_deadline
        return grpc.aio.ClientCallDetails(
            details.method,
            timeout,
            grpc.aio.Metadata(*metadata),
            details.credentials,
            details.wait_for_ready,
        )

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self._details(details), request_iterator)


def open_channel(
    address: str,
    *,
    service_token: str = "",
    service_name: str = "",
    default_deadline: float = DEFAULT_DEADLINE_SECONDS,
    max_message_bytes: int = 4 * 1024 * 1024,
    extra_interceptors: list[Any] | None = None,
) -> grpc.aio.Channel:
    """A channel to a peer service. Stubs made on it inherit deadlines and retries, and send
    the service credentials: `service_name`'s own, made from the shared secret
    `service_token` (so the peer knows who is calling), and the secret itself for peers of
    earlier releases (see `tokens.SERVICE_CREDENTIAL_HEADER`)."""
    options = [
        ("grpc.service_config", retry_service_config()),
        ("grpc.enable_retries", 1),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    interceptors: list[Any] = [
        _ClientMetadataInterceptor(service_token, service_name, default_deadline)
    ]
    interceptors.extend(extra_interceptors or [])
    return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)
