"""How a service reaches auth to authenticate its callers: JWKS for local access-token
verification, and token introspection for personal access tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf import json_format

from symphony.auth.v1 import (
    auth_internal_service_pb2,
    auth_internal_service_pb2_grpc,
    auth_service_pb2,
    auth_service_pb2_grpc,
)
from symphony_common.config import ServiceSettings
from symphony_common.context import Principal
from symphony_common.errors import Unavailable
from symphony_common.grpc.client import open_channel
from symphony_common.tokens import (
    AccessTokenVerifier,
    Authenticator,
    JwksSource,
    PatCache,
    PatIntrospect,
    audience_of,
    invalid_token,
)

USER_PREFIX = "users/"


def auth_unavailable() -> Unavailable:
    return Unavailable(
        "AUTH_UNAVAILABLE",
        "the auth service is unavailable; retry shortly",
        retry_after_seconds=1.0,
    )


def grpc_jwks_source(channel: grpc.aio.Channel) -> JwksSource:
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)

    async def fetch() -> Sequence[Mapping[str, Any]]:
        response = await stub.GetJwks(auth_service_pb2.GetJwksRequest(), timeout=3.0)
        return [json_format.MessageToDict(key) for key in response.keys]

    return fetch


def grpc_introspection(channel: grpc.aio.Channel) -> PatIntrospect:
    stub = auth_internal_service_pb2_grpc.AuthInternalServiceStub(channel)

    async def introspect(token: str) -> Principal:
        try:
            answer = await stub.IntrospectToken(
                auth_internal_service_pb2.IntrospectTokenRequest(token=token), timeout=3.0
            )
        except grpc.aio.AioRpcError as error:
            raise auth_unavailable() from error
        if not answer.active:
            raise invalid_token()
        return Principal(
            kind="pat",
            user_id=answer.user.removeprefix(USER_PREFIX),
            scopes=frozenset(answer.scopes),
            token_id=answer.personal_access_token,
        )

    return introspect


def make_authenticator(
    settings: ServiceSettings,
    *,
    jwks_source: JwksSource | None = None,
    introspect: PatIntrospect | None = None,
) -> tuple[Authenticator, Callable[[], Awaitable[None]]]:
    """The authenticator a service installs, and a closer for the channel it opened. Tests (and
    auth itself, which holds the keys) pass their own sources instead of reaching auth."""
    channel: grpc.aio.Channel | None = None
    if jwks_source is None or introspect is None:
        channel = open_channel(
            settings.auth_address,
            service_token=settings.service_token,
            service_name=settings.service_name,
        )
    verifier = AccessTokenVerifier(
        jwks_source or grpc_jwks_source(channel),  # type: ignore[arg-type]
        issuer=settings.token_issuer,
        audience=audience_of(settings.service_name),
        cooldown_seconds=settings.jwks_cooldown_seconds,
    )
    authenticator = Authenticator(
        service_token=settings.service_token,
        access_tokens=verifier,
        personal_tokens=PatCache(introspect or grpc_introspection(channel)),  # type: ignore[arg-type]
    )

    async def close() -> None:
        if channel is not None:
            await channel.close(None)

    return authenticator, close
