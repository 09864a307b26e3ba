"""Accounts (verification, profile, admin disable/enable, deletion through the outbox),
organizations, audit log, AU-14 (session termination is immediate at auth)."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from symphony.auth.v1 import auth_internal_service_pb2 as ipb
from symphony.auth.v1 import auth_service_pb2 as pb
from symphony.auth.v1 import resources_pb2 as rpb
from tests.integration.auth.support import AuthHarness, expect_error


async def test_profile_update_with_etag(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    me = await auth.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
    updated = await auth.stub.UpdateCurrentUser(
        pb.UpdateCurrentUserRequest(
            user=rpb.User(display_name="  New Name  ", etag=me.etag),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
        metadata=account.bearer(),
    )
    assert updated.display_name == "New Name" and updated.etag != me.etag
    await expect_error(
        auth.stub.UpdateCurrentUser(
            pb.UpdateCurrentUserRequest(user=rpb.User(display_name="x", etag=me.etag)),
            metadata=account.bearer(),
        ),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    await expect_error(
        auth.stub.UpdateCurrentUser(
            pb.UpdateCurrentUserRequest(
                user=rpb.User(email="a@b.example"),
                update_mask=field_mask_pb2.FieldMask(paths=["email"]),
            ),
            metadata=account.bearer(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "FIELD_NOT_UPDATABLE",
    )
    await expect_error(
        auth.stub.SendVerificationEmail(
            pb.SendVerificationEmailRequest(), metadata=account.bearer()
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "EMAIL_ALREADY_VERIFIED",
    )
    await expect_error(
        auth.stub.VerifyEmail(pb.VerifyEmailRequest(token="bogus")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "VERIFICATION_TOKEN_INVALID",
    )


async def test_admin_disable_enable_and_au14(auth: AuthHarness) -> None:
    admin = await auth.admin()
    account = await auth.signed_up()
    await expect_error(
        auth.stub.DisableUser(
            pb.DisableUserRequest(name=f"users/{admin.user_id}"), metadata=account.bearer()
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "ADMINISTRATOR_REQUIRED",
    )
    disabled = await auth.stub.DisableUser(
        pb.DisableUserRequest(name=f"users/{account.user_id}", reason="spam"),
        metadata=admin.bearer(),
    )
    assert disabled.state == rpb.USER_STATE_DISABLED
    # AU-14: auth refuses the access token at once (it checks the session on every call).
    await expect_error(
        auth.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer()),
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REVOKED",
    )
    introspected = await auth.internal.IntrospectToken(
        ipb.IntrospectTokenRequest(token=account.access), metadata=auth.service_md()
    )
    assert not introspected.active
    await expect_error(
        auth.stub.Login(
            pb.LoginRequest(email=account.email, password=account.password), metadata=auth.md()
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "USER_DISABLED",
    )
    enabled = await auth.stub.EnableUser(
        pb.EnableUserRequest(name=f"users/{account.user_id}"), metadata=admin.bearer()
    )
    assert enabled.state == rpb.USER_STATE_ACTIVE
    await auth.login(account)
    await expect_error(
        auth.stub.DisableUser(
            pb.DisableUserRequest(name=f"users/{admin.user_id}"), metadata=admin.bearer()
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "CANNOT_DISABLE_SELF",
    )


async def test_delete_account_erases_and_tells_the_peers_through_the_outbox(
    auth: AuthHarness,
) -> None:
    account = await auth.signed_up()
    auth.peers.fail = True
    try:
        await auth.stub.DeleteCurrentUser(pb.DeleteCurrentUserRequest(), metadata=account.bearer())
        await auth.running.wiring.parts["outbox"].run_once()
        assert ("sync", account.user_id) not in auth.peers.calls
    finally:
        auth.peers.fail = False
    await auth.sql(
        "UPDATE auth.peer_outbox SET next_attempt_time = now() WHERE user_id = :u",
        u=account.user_id,
    )
    await auth.running.wiring.parts["outbox"].run_once()
    assert ("sync", account.user_id) in auth.peers.calls and (
        "registry",
        account.user_id,
    ) in auth.peers.calls
    tombstone = await auth.internal.GetUser(
        ipb.GetUserRequest(name=f"users/{account.user_id}"), metadata=auth.service_md()
    )
    assert (
        tombstone.state == rpb.USER_STATE_DELETED
        and not tombstone.email
        and not tombstone.display_name
    )
    rows = await auth.sql(
        "SELECT email, password_hash, display_name FROM auth.users WHERE id = :u", u=account.user_id
    )
    assert rows == [(None, None, "")]
    await expect_error(
        auth.stub.Refresh(pb.RefreshRequest(refresh_token=account.refresh), metadata=auth.md()),
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_GRANT",
    )
    # The email may register again, as a new account.
    again = await auth.signed_up(email=account.email)
    assert again.user_id != account.user_id


async def test_organizations_roles_and_last_owner(auth: AuthHarness) -> None:
    owner = await auth.signed_up()
    member = await auth.signed_up()
    org_id = f"org-{owner.user_id[:8]}"
    await expect_error(
        auth.stub.CreateOrganization(
            pb.CreateOrganizationRequest(
                organization_id="Bad_Id", organization=rpb.Organization(display_name="x")
            ),
            metadata=owner.bearer(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "ORGANIZATION_ID_INVALID",
    )
    org = await auth.stub.CreateOrganization(
        pb.CreateOrganizationRequest(
            organization_id=org_id, organization=rpb.Organization(display_name="Acme")
        ),
        metadata=owner.bearer(),
    )
    await expect_error(
        auth.stub.CreateOrganization(
            pb.CreateOrganizationRequest(
                organization_id=org_id, organization=rpb.Organization(display_name="Acme")
            ),
            metadata=member.bearer(),
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        "ORGANIZATION_ALREADY_EXISTS",
    )
    added = await auth.stub.AddOrganizationMember(
        pb.AddOrganizationMemberRequest(
            parent=org.name, email=member.email, role=rpb.ORGANIZATION_ROLE_MEMBER
        ),
        metadata=owner.bearer(),
    )
    assert added.user == f"users/{member.user_id}"
    await expect_error(
        auth.stub.AddOrganizationMember(
            pb.AddOrganizationMemberRequest(
                parent=org.name, email=owner.email, role=rpb.ORGANIZATION_ROLE_OWNER
            ),
            metadata=member.bearer(),
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "ORGANIZATION_ADMIN_REQUIRED",
    )
    members = await auth.stub.ListOrganizationMembers(
        pb.ListOrganizationMembersRequest(parent=org.name), metadata=member.bearer()
    )
    assert [m.role for m in members.members] == [
        rpb.ORGANIZATION_ROLE_OWNER,
        rpb.ORGANIZATION_ROLE_MEMBER,
    ]
    await expect_error(
        auth.stub.RemoveOrganizationMember(
            pb.RemoveOrganizationMemberRequest(name=f"{org.name}/members/me"),
            metadata=owner.bearer(),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "LAST_OWNER",
    )
    await expect_error(
        auth.stub.UpdateOrganizationMember(
            pb.UpdateOrganizationMemberRequest(
                member=rpb.OrganizationMember(
                    name=f"{org.name}/members/{owner.user_id}", role=rpb.ORGANIZATION_ROLE_ADMIN
                )
            ),
            metadata=owner.bearer(),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "LAST_OWNER",
    )
    promoted = await auth.stub.UpdateOrganizationMember(
        pb.UpdateOrganizationMemberRequest(
            member=rpb.OrganizationMember(name=added.name, role=rpb.ORGANIZATION_ROLE_OWNER)
        ),
        metadata=owner.bearer(),
    )
    assert promoted.role == rpb.ORGANIZATION_ROLE_OWNER
    await auth.stub.RemoveOrganizationMember(
        pb.RemoveOrganizationMemberRequest(name=f"{org.name}/members/me"), metadata=owner.bearer()
    )
    mine = await auth.stub.ListOrganizations(
        pb.ListOrganizationsRequest(), metadata=member.bearer()
    )
    assert [o.name for o in mine.organizations] == [org.name]
    membership = await auth.internal.GetOrganizationMembership(
        ipb.GetOrganizationMembershipRequest(organization=org.name, user=f"users/{member.user_id}"),
        metadata=auth.service_md(),
    )
    assert membership.role == rpb.ORGANIZATION_ROLE_OWNER
    listed = await auth.internal.ListUserOrganizations(
        ipb.ListUserOrganizationsRequest(user=f"users/{member.user_id}"), metadata=auth.service_md()
    )
    assert listed.memberships[0].organization.name == org.name
    batch = await auth.internal.BatchGetOrganizations(
        ipb.BatchGetOrganizationsRequest(
            names=[org.name, "organizations/missing-one"], allow_missing=True
        ),
        metadata=auth.service_md(),
    )
    assert [o.name for o in batch.organizations] == [org.name]
    updated = await auth.stub.UpdateOrganization(
        pb.UpdateOrganizationRequest(
            organization=rpb.Organization(name=org.name, description="Tools", etag=org.etag),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=member.bearer(),
    )
    assert updated.description == "Tools"
    events = await auth.stub.ListAuditEvents(pb.ListAuditEventsRequest(), metadata=member.bearer())
    assert rpb.AUDIT_EVENT_TYPE_ORGANIZATION_ROLE_CHANGED in [e.type for e in events.audit_events]


async def test_sessions_listing_paging_and_revoking(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    for i in range(3):
        await auth.login(type(account)(account.email, account.password), device=f"device {i}")
    first = await auth.stub.ListSessions(
        pb.ListSessionsRequest(page_size=2), metadata=account.bearer()
    )
    assert len(first.sessions) == 2 and first.next_page_token
    second = await auth.stub.ListSessions(
        pb.ListSessionsRequest(page_size=2, page_token=first.next_page_token),
        metadata=account.bearer(),
    )
    names = [s.name for s in first.sessions] + [s.name for s in second.sessions]
    assert len(set(names)) == 4
    assert sum(s.current for s in list(first.sessions) + list(second.sessions)) == 1
    victim = next(s for s in list(first.sessions) + list(second.sessions) if not s.current)
    await auth.stub.DeleteSession(
        pb.DeleteSessionRequest(session_id=victim.uid), metadata=account.bearer()
    )
    await expect_error(
        auth.stub.DeleteSession(
            pb.DeleteSessionRequest(session_id=victim.uid), metadata=account.bearer()
        ),
        grpc.StatusCode.NOT_FOUND,
        "SESSION_NOT_FOUND",
    )
    await expect_error(
        auth.stub.ListSessions(
            pb.ListSessionsRequest(page_token="tampered"), metadata=account.bearer()
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAGE_TOKEN_INVALID",
    )


async def test_idempotent_create_replays_and_refuses_reuse(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    request = pb.CreateOrganizationRequest(
        organization_id=f"idem-{account.user_id[:8]}",
        organization=rpb.Organization(display_name="Idem"),
        request_id="6f1c0a9e-3a55-4c57-9d45-0d3b2b1f0a11",
    )
    first = await auth.stub.CreateOrganization(request, metadata=account.bearer())
    again = await auth.stub.CreateOrganization(request, metadata=account.bearer())
    assert again == first
    request.organization.display_name = "Other"
    await expect_error(
        auth.stub.CreateOrganization(request, metadata=account.bearer()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "REQUEST_ID_REUSED",
    )
