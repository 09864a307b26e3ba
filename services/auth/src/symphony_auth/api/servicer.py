"""gRPC adapters: proto in, domain call, proto out. No SQL, no sessions, no `context.abort`."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Awaitable, Callable, Sequence

import grpc
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from symphony.auth.v1 import auth_internal_service_pb2 as ipb
from symphony.auth.v1 import auth_internal_service_pb2_grpc, auth_service_pb2_grpc
from symphony.auth.v1 import auth_service_pb2 as pb
from symphony.auth.v1 import resources_pb2 as rpb
from symphony_auth.api import converters as conv
from symphony_auth.domain.models import Caller
from symphony_auth.domain.service import AuthService
from symphony_common.context import current_principal
from symphony_common.grpc.convert import proto_enum

PASSWORD_FIELDS = ("password", "new_password", "current_password")


def _fingerprint(request: Message) -> str:
    copy = type(request)()
    copy.CopyFrom(request)
    for name in ("request_id", *PASSWORD_FIELDS):
        if name in copy.DESCRIPTOR.fields_by_name:
            copy.ClearField(name)
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


class CallerInfo:
    """Client address: the `x-forwarded-for` the gateway appends (its last entry) when the
    direct peer is a trusted proxy, otherwise the peer itself."""

    def __init__(self, trusted_proxies: Sequence[str]) -> None:
        self.trusted = [
            ipaddress.ip_network(n.strip(), strict=False) for n in trusted_proxies if n.strip()
        ]

    @staticmethod
    def _peer_ip(peer: str) -> str:
        if peer.startswith("ipv4:"):
            return peer[5:].rsplit(":", 1)[0]
        if peer.startswith("ipv6:"):
            return peer[5:].rsplit(":", 1)[0].strip("[]")
        return peer

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def __call__(self, context: grpc.aio.ServicerContext) -> Caller:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        peer = self._peer_ip(context.peer() or "")
        address = peer
        forwarded = metadata.get("x-forwarded-for", "")
        if forwarded and self._is_trusted(peer):
            candidate = forwarded.split(",")[-1].strip()
            try:
                address = str(ipaddress.ip_address(candidate))
            except ValueError:
                address = peer
        principal = current_principal()
        return Caller(
            kind=principal.kind,
            user_id=principal.user_id,
            session_id=principal.session_id,
            client_address=address,
            # The gateway forwards the browser's User-Agent as x-user-agent (gRPC overwrites
            # user-agent with its own); a direct gRPC caller's own user-agent counts otherwise.
            user_agent=(metadata.get("x-user-agent") or metadata.get("user-agent", ""))[:300],
        )


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    def __init__(self, service: AuthService, caller_info: CallerInfo) -> None:
        self.service = service
        self.caller = caller_info

    def _now(self):  # type: ignore[no-untyped-def]
        return self.service.clock()

    async def _idempotent(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        request: Message,
        response_type: type[Message],
        run: Callable[[], Awaitable[Message]],
    ) -> Message:
        caller = self.caller(context)

        async def work() -> bytes:
            return (await run()).SerializeToString()

        data = await self.service.idempotent(
            caller, method, getattr(request, "request_id", ""), _fingerprint(request), work
        )
        stripped = data.startswith(b"\x00strip:")
        message = response_type.FromString(data.removeprefix(b"\x00strip:"))
        if stripped and hasattr(message, "token"):
            message.ClearField("token")  # the value is not kept unencrypted
        return message

    # -- accounts --------------------------------------------------------------------------

    async def CreateUser(
        self, request: pb.CreateUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateUserResponse:
        async def run() -> Message:
            email = await self.service.create_user(
                self.caller(context),
                request.user.email,
                request.password,
                request.user.display_name,
            )
            return pb.CreateUserResponse(email=email)

        return await self._idempotent(context, "CreateUser", request, pb.CreateUserResponse, run)  # type: ignore[return-value]

    async def VerifyEmail(
        self, request: pb.VerifyEmailRequest, context: grpc.aio.ServicerContext
    ) -> rpb.User:
        return conv.user(
            await self.service.verify_email(self.caller(context), request.token), self._now()
        )

    async def SendVerificationEmail(
        self, request: pb.SendVerificationEmailRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.service.send_verification_email(self.caller(context))
        return empty_pb2.Empty()

    async def GetCurrentUser(
        self, request: pb.GetCurrentUserRequest, context: grpc.aio.ServicerContext
    ) -> rpb.User:
        return conv.user(await self.service.get_current_user(self.caller(context)), self._now())

    async def UpdateCurrentUser(
        self, request: pb.UpdateCurrentUserRequest, context: grpc.aio.ServicerContext
    ) -> rpb.User:
        paths = (
            list(request.update_mask.paths) if request.HasField("update_mask") else ["display_name"]
        )
        user = await self.service.update_current_user(
            self.caller(context), request.user.display_name, request.user.etag, paths
        )
        return conv.user(user, self._now())

    async def ChangePassword(
        self, request: pb.ChangePasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChangePasswordResponse:
        async def run() -> Message:
            ended = await self.service.change_password(
                self.caller(context),
                request.current_password,
                request.new_password,
                request.end_other_sessions,
            )
            return pb.ChangePasswordResponse(ended_session_count=ended)

        return await self._idempotent(
            context, "ChangePassword", request, pb.ChangePasswordResponse, run
        )  # type: ignore[return-value]

    async def RequestPasswordReset(
        self, request: pb.RequestPasswordResetRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.service.request_password_reset(self.caller(context), request.email)
        return empty_pb2.Empty()

    async def ResetPassword(
        self, request: pb.ResetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        async def run() -> Message:
            await self.service.reset_password(
                self.caller(context), request.token, request.new_password
            )
            return empty_pb2.Empty()

        return await self._idempotent(context, "ResetPassword", request, empty_pb2.Empty, run)  # type: ignore[return-value]

    async def DisableUser(
        self, request: pb.DisableUserRequest, context: grpc.aio.ServicerContext
    ) -> rpb.User:
        async def run() -> Message:
            return conv.user(
                await self.service.disable_user(self.caller(context), request.name, request.reason),
                self._now(),
            )

        return await self._idempotent(context, "DisableUser", request, rpb.User, run)  # type: ignore[return-value]

    async def EnableUser(
        self, request: pb.EnableUserRequest, context: grpc.aio.ServicerContext
    ) -> rpb.User:
        async def run() -> Message:
            return conv.user(
                await self.service.enable_user(self.caller(context), request.name, request.reason),
                self._now(),
            )

        return await self._idempotent(context, "EnableUser", request, rpb.User, run)  # type: ignore[return-value]

    async def DeleteCurrentUser(
        self, request: pb.DeleteCurrentUserRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.service.delete_current_user(self.caller(context))
        return empty_pb2.Empty()

    # -- sessions --------------------------------------------------------------------------

    async def Login(
        self, request: pb.LoginRequest, context: grpc.aio.ServicerContext
    ) -> rpb.TokenPair:
        pair = await self.service.login(
            self.caller(context),
            request.email,
            request.password,
            request.device_name,
            request.platform,
        )
        return conv.token_pair(pair)

    async def Refresh(
        self, request: pb.RefreshRequest, context: grpc.aio.ServicerContext
    ) -> rpb.TokenPair:
        return conv.token_pair(
            await self.service.refresh(self.caller(context), request.refresh_token)
        )

    async def Logout(
        self, request: pb.LogoutRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.service.logout(self.caller(context), request.refresh_token)
        return empty_pb2.Empty()

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSessionsResponse:
        caller = self.caller(context)
        page = await self.service.list_sessions(caller, request.page_size, request.page_token)
        return pb.ListSessionsResponse(
            sessions=[conv.session(s, caller.session_id) for s in page.items],
            next_page_token=page.next_page_token,
        )

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.service.delete_session(self.caller(context), request.session_id)
        return empty_pb2.Empty()

    # -- device authorization --------------------------------------------------------------

    async def StartDeviceAuthorization(
        self, request: pb.StartDeviceAuthorizationRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartDeviceAuthorizationResponse:
        start = await self.service.start_device_authorization(
            self.caller(context), request.device_name, request.platform, list(request.scopes)
        )
        return pb.StartDeviceAuthorizationResponse(
            device_code=start.device_code,
            user_code=start.user_code,
            verification_uri=start.verification_uri,
            verification_uri_complete=start.verification_uri_complete,
            interval=start.interval,
            expires_in=start.expires_in,
        )

    async def LookupDeviceAuthorization(
        self, request: pb.LookupDeviceAuthorizationRequest, context: grpc.aio.ServicerContext
    ) -> rpb.DeviceAuthorization:
        return conv.device(
            await self.service.lookup_device_authorization(self.caller(context), request.user_code),
            self._now(),
        )

    async def ApproveDeviceAuthorization(
        self, request: pb.ApproveDeviceAuthorizationRequest, context: grpc.aio.ServicerContext
    ) -> rpb.DeviceAuthorization:
        device = await self.service.decide_device_authorization(
            self.caller(context), request.user_code, True
        )
        return conv.device(device, self._now())

    async def DenyDeviceAuthorization(
        self, request: pb.DenyDeviceAuthorizationRequest, context: grpc.aio.ServicerContext
    ) -> rpb.DeviceAuthorization:
        device = await self.service.decide_device_authorization(
            self.caller(context), request.user_code, False
        )
        return conv.device(device, self._now())

    async def ExchangeDeviceCode(
        self, request: pb.ExchangeDeviceCodeRequest, context: grpc.aio.ServicerContext
    ) -> rpb.TokenPair:
        return conv.token_pair(
            await self.service.exchange_device_code(self.caller(context), request.device_code)
        )

    # -- external login --------------------------------------------------------------------

    async def ListIdentityProviders(
        self, request: pb.ListIdentityProvidersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListIdentityProvidersResponse:
        return pb.ListIdentityProvidersResponse(
            identity_providers=[
                rpb.IdentityProvider(id=p.id, display_name=p.display_name or p.id, issuer=p.issuer)
                for p in self.service.list_identity_providers()
            ]
        )

    async def StartExternalLogin(
        self, request: pb.StartExternalLoginRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartExternalLoginResponse:
        start = await self.service.start_external_login(
            self.caller(context), request.provider, request.redirect_uri
        )
        return pb.StartExternalLoginResponse(
            authorization_uri=start.authorization_uri,
            state=start.state,
            expire_time=conv.ts(start.expire_time),
        )

    async def CompleteExternalLogin(
        self, request: pb.CompleteExternalLoginRequest, context: grpc.aio.ServicerContext
    ) -> rpb.TokenPair:
        pair = await self.service.complete_external_login(
            self.caller(context),
            request.provider,
            request.code,
            request.state,
            request.redirect_uri,
            request.device_name,
            request.platform,
        )
        return conv.token_pair(pair)

    # -- personal access tokens ------------------------------------------------------------

    async def CreatePersonalAccessToken(
        self, request: pb.CreatePersonalAccessTokenRequest, context: grpc.aio.ServicerContext
    ) -> rpb.PersonalAccessToken:
        spec = request.personal_access_token
        which = spec.WhichOneof("expiration")

        async def run() -> Message:
            pat = await self.service.create_personal_access_token(
                self.caller(context),
                spec.display_name,
                list(spec.scopes),
                conv.to_datetime(spec.expire_time) if which == "expire_time" else None,
                spec.ttl.ToTimedelta().total_seconds() if which == "ttl" else None,
            )
            return conv.pat(pat, self._now())

        return await self._idempotent(
            context, "CreatePersonalAccessToken", request, rpb.PersonalAccessToken, run
        )  # type: ignore[return-value]

    async def ListPersonalAccessTokens(
        self, request: pb.ListPersonalAccessTokensRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPersonalAccessTokensResponse:
        page = await self.service.list_personal_access_tokens(
            self.caller(context), request.page_size, request.page_token, request.show_revoked
        )
        now = self._now()
        return pb.ListPersonalAccessTokensResponse(
            personal_access_tokens=[conv.pat(p, now) for p in page.items],
            next_page_token=page.next_page_token,
        )

    async def DeletePersonalAccessToken(
        self, request: pb.DeletePersonalAccessTokenRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.service.delete_personal_access_token(self.caller(context), request.token_id)
        return empty_pb2.Empty()

    # -- organizations ---------------------------------------------------------------------

    async def CreateOrganization(
        self, request: pb.CreateOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> rpb.Organization:
        async def run() -> Message:
            org = await self.service.create_organization(
                self.caller(context),
                request.organization_id,
                request.organization.display_name,
                request.organization.description,
            )
            return conv.organization(org)

        return await self._idempotent(context, "CreateOrganization", request, rpb.Organization, run)  # type: ignore[return-value]

    async def ListOrganizations(
        self, request: pb.ListOrganizationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrganizationsResponse:
        page = await self.service.list_organizations(
            self.caller(context), request.page_size, request.page_token
        )
        return pb.ListOrganizationsResponse(
            organizations=[conv.organization(o) for o in page.items],
            next_page_token=page.next_page_token,
        )

    async def GetOrganization(
        self, request: pb.GetOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> rpb.Organization:
        return conv.organization(
            await self.service.get_organization(self.caller(context), request.name)
        )

    async def UpdateOrganization(
        self, request: pb.UpdateOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> rpb.Organization:
        org = request.organization
        paths = (
            list(request.update_mask.paths)
            if request.HasField("update_mask")
            else ["display_name", "description"]
        )
        updated = await self.service.update_organization(
            self.caller(context), org.name, org.display_name, org.description, org.etag, paths
        )
        return conv.organization(updated)

    async def ListOrganizationMembers(
        self, request: pb.ListOrganizationMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrganizationMembersResponse:
        page = await self.service.list_organization_members(
            self.caller(context), request.parent, request.page_size, request.page_token
        )
        return pb.ListOrganizationMembersResponse(
            members=[conv.member(m) for m in page.items], next_page_token=page.next_page_token
        )

    async def AddOrganizationMember(
        self, request: pb.AddOrganizationMemberRequest, context: grpc.aio.ServicerContext
    ) -> rpb.OrganizationMember:
        async def run() -> Message:
            member = await self.service.add_organization_member(
                self.caller(context), request.parent, request.email, request.role
            )
            return conv.member(member)

        return await self._idempotent(
            context, "AddOrganizationMember", request, rpb.OrganizationMember, run
        )  # type: ignore[return-value]

    async def UpdateOrganizationMember(
        self, request: pb.UpdateOrganizationMemberRequest, context: grpc.aio.ServicerContext
    ) -> rpb.OrganizationMember:
        paths = list(request.update_mask.paths) if request.HasField("update_mask") else ["role"]
        member = await self.service.update_organization_member(
            self.caller(context),
            request.member.name,
            request.member.role,
            request.member.etag,
            paths,
        )
        return conv.member(member)

    async def RemoveOrganizationMember(
        self, request: pb.RemoveOrganizationMemberRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.service.remove_organization_member(self.caller(context), request.name)
        return empty_pb2.Empty()

    # -- audit and keys --------------------------------------------------------------------

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditEventsResponse:
        page = await self.service.list_audit_events(
            self.caller(context),
            request.page_size,
            request.page_token,
            [int(t) for t in request.types],
        )
        return pb.ListAuditEventsResponse(
            audit_events=[conv.audit_event(e) for e in page.items],
            next_page_token=page.next_page_token,
        )

    async def GetJwks(
        self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext
    ) -> rpb.JsonWebKeySet:
        return rpb.JsonWebKeySet(keys=[rpb.JsonWebKey(**k) for k in await self.service.jwks()])


class AuthInternalServicer(auth_internal_service_pb2_grpc.AuthInternalServiceServicer):
    def __init__(self, service: AuthService, caller_info: CallerInfo) -> None:
        self.service = service
        self.caller = caller_info

    async def IntrospectToken(
        self, request: ipb.IntrospectTokenRequest, context: grpc.aio.ServicerContext
    ) -> ipb.IntrospectTokenResponse:
        return conv.introspection(await self.service.introspect(request.token))

    async def GetUser(
        self, request: ipb.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> rpb.User:
        return conv.user(await self.service.get_user(request.name), self.service.clock())

    async def BatchGetUsers(
        self, request: ipb.BatchGetUsersRequest, context: grpc.aio.ServicerContext
    ) -> ipb.BatchGetUsersResponse:
        users = await self.service.batch_get_users(list(request.names), request.allow_missing)
        now = self.service.clock()
        return ipb.BatchGetUsersResponse(users=[conv.user(u, now) for u in users])

    async def BatchGetOrganizations(
        self, request: ipb.BatchGetOrganizationsRequest, context: grpc.aio.ServicerContext
    ) -> ipb.BatchGetOrganizationsResponse:
        orgs = await self.service.batch_get_organizations(
            list(request.names), request.allow_missing
        )
        return ipb.BatchGetOrganizationsResponse(organizations=[conv.organization(o) for o in orgs])

    async def ListUserOrganizations(
        self, request: ipb.ListUserOrganizationsRequest, context: grpc.aio.ServicerContext
    ) -> ipb.ListUserOrganizationsResponse:
        page = await self.service.list_user_organizations(
            request.user, request.page_size, request.page_token
        )
        return ipb.ListUserOrganizationsResponse(
            memberships=[
                ipb.OrganizationMembership(
                    organization=conv.organization(o), role=proto_enum(rpb.OrganizationRole, r)
                )
                for o, r in page.items
            ],
            next_page_token=page.next_page_token,
        )

    async def GetOrganizationMembership(
        self, request: ipb.GetOrganizationMembershipRequest, context: grpc.aio.ServicerContext
    ) -> rpb.OrganizationMember:
        return conv.member(
            await self.service.get_organization_membership(request.organization, request.user)
        )

    async def RevokeLeakedToken(
        self, request: ipb.RevokeLeakedTokenRequest, context: grpc.aio.ServicerContext
    ) -> ipb.RevokeLeakedTokenResponse:
        outcome, kind = await self.service.revoke_leaked_token(
            self.caller(context), request.token, request.location, request.reporter
        )
        outcomes = {
            "revoked": ipb.RevokeLeakedTokenResponse.OUTCOME_REVOKED,
            "already_inactive": ipb.RevokeLeakedTokenResponse.OUTCOME_ALREADY_INACTIVE,
            "not_found": ipb.RevokeLeakedTokenResponse.OUTCOME_NOT_FOUND,
        }
        return ipb.RevokeLeakedTokenResponse(
            outcome=outcomes[outcome], kind=proto_enum(rpb.TokenKind, kind)
        )
