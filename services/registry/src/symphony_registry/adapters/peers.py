"""Typed clients of the registry's peers: auth's and analytics' internal services (deadlines,
retries on UNAVAILABLE only, the service credential; see `symphony_common.grpc.client`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from symphony.analytics.v1 import analytics_internal_service_pb2 as analytics_pb2
from symphony.analytics.v1 import analytics_internal_service_pb2_grpc as analytics_grpc
from symphony.auth.v1 import auth_internal_service_pb2 as auth_pb2
from symphony.auth.v1 import auth_internal_service_pb2_grpc as auth_grpc
from symphony.auth.v1 import resources_pb2 as auth_resources
from symphony_common.errors import Unavailable
from symphony_registry.domain.models import Role

_ORG_ROLE = {
    auth_resources.ORGANIZATION_ROLE_OWNER: Role.OWNER,
    auth_resources.ORGANIZATION_ROLE_ADMIN: Role.OWNER,
    auth_resources.ORGANIZATION_ROLE_MEMBER: Role.CONTRIBUTOR,
}


def peer_unavailable(peer: str) -> Unavailable:
    return Unavailable(
        "PEER_UNAVAILABLE",
        f"the {peer} service is unavailable; retry shortly",
        retry_after_seconds=1.0,
    )


class GrpcAuthClient:
    """AuthPort over gRPC. Administrator flags and display names are cached briefly."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        admin_users: Sequence[str] = (),
        cache_seconds: float = 30.0,
    ) -> None:
        self._stub = auth_grpc.AuthInternalServiceStub(channel)
        self._admins = frozenset(admin_users)
        self._ttl = cache_seconds
        self._users: dict[str, tuple[float, Any]] = {}

    async def _user(self, user_id: str) -> Any:
        hit = self._users.get(user_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        try:
            user = await self._stub.GetUser(
                auth_pb2.GetUserRequest(name=f"users/{user_id}"), timeout=3.0
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                user = None
            else:
                raise peer_unavailable("auth") from error
        if len(self._users) > 10_000:
            self._users.clear()
        self._users[user_id] = (time.monotonic() + self._ttl, user)
        return user

    async def organization_role(self, organization_id: str, user_id: str) -> Role:
        try:
            member = await self._stub.GetOrganizationMembership(
                auth_pb2.GetOrganizationMembershipRequest(
                    organization=f"organizations/{organization_id}", user=f"users/{user_id}"
                ),
                timeout=3.0,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return Role.NONE
            raise peer_unavailable("auth") from error
        return _ORG_ROLE.get(member.role, Role.NONE)

    async def user_organizations(self, user_id: str) -> list[tuple[str, Role]]:
        result: list[tuple[str, Role]] = []
        token = ""
        try:
            while True:
                answer = await self._stub.ListUserOrganizations(
                    auth_pb2.ListUserOrganizationsRequest(
                        user=f"users/{user_id}", page_size=1000, page_token=token
                    ),
                    timeout=3.0,
                )
                for ms in answer.memberships:
                    result.append(
                        (
                            ms.organization.name.removeprefix("organizations/"),
                            _ORG_ROLE.get(ms.role, Role.NONE),
                        )
                    )
                token = answer.next_page_token
                if not token:
                    return result
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return result
            raise peer_unavailable("auth") from error

    async def organization_exists(self, organization_id: str) -> bool:
        try:
            answer = await self._stub.BatchGetOrganizations(
                auth_pb2.BatchGetOrganizationsRequest(
                    names=[f"organizations/{organization_id}"], allow_missing=True
                ),
                timeout=3.0,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return False
            raise peer_unavailable("auth") from error
        return len(answer.organizations) > 0

    async def user_exists(self, user_id: str) -> bool:
        user = await self._user(user_id)
        return user is not None and user.state != auth_resources.USER_STATE_DELETED

    async def user_display_name(self, user_id: str) -> str:
        try:
            user = await self._user(user_id)
        except Unavailable:
            return ""
        return user.display_name if user is not None else ""

    async def is_administrator(self, user_id: str) -> bool:
        if user_id in self._admins:
            return True
        user = await self._user(user_id)
        return bool(user is not None and user.administrator)

    async def revoke_leaked_token(self, token: str, location: str) -> str:
        try:
            answer = await self._stub.RevokeLeakedToken(
                auth_pb2.RevokeLeakedTokenRequest(
                    token=token, location=location[:500], reporter="registry"
                ),
                timeout=5.0,
            )
        except grpc.aio.AioRpcError as error:
            raise peer_unavailable("auth") from error
        return auth_pb2.RevokeLeakedTokenResponse.Outcome.Name(answer.outcome)


class GrpcAnalyticsClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = analytics_grpc.AnalyticsInternalServiceStub(channel)

    async def record_downloads(self, rows: Sequence[dict[str, Any]]) -> None:
        counts = []
        for row in rows:
            day = Timestamp()
            day.FromSeconds(_midnight(row["day"]))
            counts.append(
                analytics_pb2.DownloadCount(
                    outbox_id=row["id"],
                    namespace=row["namespace"],
                    extension=row["extension"],
                    version=row["version"],
                    target_platform=row["target_platform"],
                    day=day,
                    downloads=row["downloads"],
                )
            )
        try:
            await self._stub.RecordDownloads(
                analytics_pb2.RecordDownloadsRequest(counts=counts), timeout=10.0
            )
        except grpc.aio.AioRpcError as error:
            raise peer_unavailable("analytics") from error


def _midnight(day: Any) -> int:
    import calendar

    return calendar.timegm(day.timetuple())
