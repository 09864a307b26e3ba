"""Typed async client of the auth service over gRPC."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import duration_pb2

from symphony.auth.v1 import auth_service_pb2 as pb
from symphony.auth.v1 import auth_service_pb2_grpc
from symphony.auth.v1 import resources_pb2 as rpb
from symphony_client.errors import details_of


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds

    @classmethod
    def from_pair(cls, pair: rpb.TokenPair, now: float | None = None) -> Tokens:
        return cls(pair.access_token, pair.refresh_token, (now or time.time()) + pair.expires_in)


class AuthError(Exception):
    """An auth RPC failed; `reason` is the stable ErrorInfo reason."""

    def __init__(
        self, code: grpc.StatusCode, reason: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code.name} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.retry_after = retry_after

    @classmethod
    def from_rpc(cls, error: grpc.aio.AioRpcError) -> AuthError:
        details = details_of(error)
        return cls(error.code(), details.reason, error.details() or "", details.retry_after)


class DeviceLoginDenied(AuthError):
    pass


class AuthClient:
    def __init__(self, channel: grpc.aio.Channel, timeout: float = 10.0) -> None:
        self.channel = channel
        self.stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        self.timeout = timeout

    @classmethod
    def connect(cls, address: str) -> AuthClient:
        return cls(grpc.aio.insecure_channel(address))

    async def close(self) -> None:
        await self.channel.close(None)

    async def _call(
        self, method: Callable[..., Awaitable[Any]], request: object, token: str = ""
    ) -> Any:
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        try:
            return await method(request, metadata=metadata, timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise AuthError.from_rpc(error) from None

    async def login(
        self, email: str, password: str, device_name: str = "", platform: str = ""
    ) -> Tokens:
        pair = await self._call(
            self.stub.Login,
            pb.LoginRequest(
                email=email, password=password, device_name=device_name, platform=platform
            ),
        )
        return Tokens.from_pair(pair)

    async def refresh(self, refresh_token: str) -> Tokens:
        return Tokens.from_pair(
            await self._call(self.stub.Refresh, pb.RefreshRequest(refresh_token=refresh_token))
        )

    async def logout(self, refresh_token: str = "", access_token: str = "") -> None:
        await self._call(
            self.stub.Logout, pb.LogoutRequest(refresh_token=refresh_token), access_token
        )

    async def me(self, access_token: str) -> rpb.User:
        user: rpb.User = await self._call(
            self.stub.GetCurrentUser, pb.GetCurrentUserRequest(), access_token
        )
        return user

    async def start_device_login(
        self, device_name: str = "", platform: str = "", scopes: Sequence[str] = ()
    ) -> pb.StartDeviceAuthorizationResponse:
        response: pb.StartDeviceAuthorizationResponse = await self._call(
            self.stub.StartDeviceAuthorization,
            pb.StartDeviceAuthorizationRequest(
                device_name=device_name, platform=platform, scopes=list(scopes)
            ),
        )
        return response

    async def poll_device_login(self, device_code: str) -> Tokens | None:
        """Tokens once approved; None while pending. Raises DeviceLoginDenied, or AuthError
        with reason SLOW_DOWN (retry_after set) / EXPIRED_TOKEN / INVALID_GRANT."""
        try:
            pair = await self._call(
                self.stub.ExchangeDeviceCode, pb.ExchangeDeviceCodeRequest(device_code=device_code)
            )
        except AuthError as error:
            if error.reason == "AUTHORIZATION_PENDING":
                return None
            if error.reason == "ACCESS_DENIED":
                raise DeviceLoginDenied(
                    error.code, error.reason, "the sign-in was denied"
                ) from None
            raise
        return Tokens.from_pair(pair)

    async def wait_for_device_login(
        self,
        start: pb.StartDeviceAuthorizationResponse,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Tokens:
        interval = float(start.interval or 5)
        deadline = time.monotonic() + start.expires_in
        while time.monotonic() < deadline:
            await sleep(interval)
            try:
                tokens = await self.poll_device_login(start.device_code)
            except AuthError as error:
                if error.reason != "SLOW_DOWN":
                    raise
                interval = error.retry_after or interval + 5
                continue
            if tokens is not None:
                return tokens
        raise AuthError(
            grpc.StatusCode.FAILED_PRECONDITION, "EXPIRED_TOKEN", "the device code expired"
        )

    async def create_token(
        self,
        access_token: str,
        display_name: str,
        scopes: Sequence[str],
        ttl_seconds: int | None = None,
    ) -> rpb.PersonalAccessToken:
        spec = rpb.PersonalAccessToken(display_name=display_name, scopes=list(scopes))
        if ttl_seconds:
            spec.ttl.CopyFrom(duration_pb2.Duration(seconds=ttl_seconds))
        token: rpb.PersonalAccessToken = await self._call(
            self.stub.CreatePersonalAccessToken,
            pb.CreatePersonalAccessTokenRequest(personal_access_token=spec),
            access_token,
        )
        return token
