"""Registry contract through a real grpc.aio server: internal RPCs need the service credential,
AIP status semantics, and the peers' typed clients against stub servers."""

from __future__ import annotations

import grpc
import pytest
from grpc_status import rpc_status

from symphony.auth.v1 import auth_internal_service_pb2 as apb
from symphony.auth.v1 import auth_internal_service_pb2_grpc as agrpc
from symphony.auth.v1 import resources_pb2 as ares
from symphony.registry.v1 import registry_internal_service_pb2 as ipb
from symphony.registry.v1 import registry_internal_service_pb2_grpc as igrpc
from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import resources_pb2 as pb
from symphony_registry.adapters.peers import GrpcAuthClient
from symphony_registry.domain.models import Role
from tests.integration.registry.conftest import (
    SERVICE_TOKEN,
    RegistryHarness,
)
from tests.integration.registry.vsix import build_vsix


async def test_internal_service_needs_the_service_credential(registry: RegistryHarness) -> None:
    stub = igrpc.RegistryInternalServiceStub(registry.channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetNamespaceAccess(
            ipb.GetNamespaceAccessRequest(namespace="namespaces/x", user="users/y")
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    md = [("x-symphony-service-token", SERVICE_TOKEN)]
    ns = await registry.namespace("pia")
    await registry.stub.AddNamespaceMember(
        spb.AddNamespaceMemberRequest(
            parent=f"namespaces/{ns}", user="users/quinn", role=pb.NAMESPACE_ROLE_CONTRIBUTOR
        ),
        metadata=registry.token("pia"),
    )
    access = await stub.GetNamespaceAccess(
        ipb.GetNamespaceAccessRequest(namespace=f"namespaces/{ns}", user="users/quinn"), metadata=md
    )
    assert (
        access.role == pb.NAMESPACE_ROLE_CONTRIBUTOR and access.source == ipb.ACCESS_SOURCE_MEMBER
    )
    mine = await stub.ListUserNamespaces(
        ipb.ListUserNamespacesRequest(user="users/quinn"), metadata=md
    )
    assert f"namespaces/{ns}" in [n.namespace for n in mine.namespaces]
    await registry.publish(build_vsix(ns, "rev", "1.0.0"), "pia")
    await registry.stub.CreateReview(
        spb.CreateReviewRequest(
            parent=f"namespaces/{ns}/extensions/rev", review=pb.Review(rating=2, title="meh")
        ),
        metadata=registry.token("quinn"),
    )
    deleted = await stub.DeleteUserData(ipb.DeleteUserDataRequest(user="users/quinn"), metadata=md)
    assert deleted.reviews_deleted == 1 and deleted.memberships_removed == 1
    again = await stub.DeleteUserData(ipb.DeleteUserDataRequest(user="users/quinn"), metadata=md)
    assert again.reviews_deleted == 0 and again.memberships_removed == 0
    summary = (
        await registry.stub.ListReviews(
            spb.ListReviewsRequest(parent=f"namespaces/{ns}/extensions/rev")
        )
    ).summary
    assert summary.review_count == 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetNamespaceAccess(
            ipb.GetNamespaceAccessRequest(namespace="bad", user="users/y"), metadata=md
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_status_semantics(registry: RegistryHarness) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await registry.stub.GetNamespace(
            spb.GetNamespaceRequest(name="namespaces/does-not-exist-42")
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    status = rpc_status.from_call(caught.value)
    assert status is not None and status.details
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await registry.stub.SearchExtensions(spb.SearchExtensionsRequest(page_token="garbage"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await registry.stub.ListNamespaces(spb.ListNamespacesRequest(page_size=-1))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    keys = await registry.stub.ListSigningKeys(spb.ListSigningKeysRequest())
    assert (
        keys.signing_keys[0].state == pb.SIGNING_KEY_STATE_ACTIVE
        and len(keys.signing_keys[0].public_key) == 32
    )
    got = await registry.stub.GetSigningKey(
        spb.GetSigningKeyRequest(name=keys.signing_keys[0].name)
    )
    assert got.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")


class StubAuth(agrpc.AuthInternalServiceServicer):
    revoked: list[str] = []

    async def GetOrganizationMembership(self, request, context):  # type: ignore[no-untyped-def]
        if request.user == "users/admin-of-org":
            return ares.OrganizationMember(user=request.user, role=ares.ORGANIZATION_ROLE_ADMIN)
        await context.abort(grpc.StatusCode.NOT_FOUND, "not a member")

    async def ListUserOrganizations(self, request, context):  # type: ignore[no-untyped-def]
        return apb.ListUserOrganizationsResponse(
            memberships=[
                apb.OrganizationMembership(
                    organization=ares.Organization(name="organizations/o1"),
                    role=ares.ORGANIZATION_ROLE_MEMBER,
                )
            ]
        )

    async def GetUser(self, request, context):  # type: ignore[no-untyped-def]
        return ares.User(
            name=request.name, display_name="Ada", administrator=request.name == "users/root"
        )

    async def RevokeLeakedToken(self, request, context):  # type: ignore[no-untyped-def]
        self.revoked.append(request.token)
        return apb.RevokeLeakedTokenResponse(outcome=apb.RevokeLeakedTokenResponse.OUTCOME_REVOKED)


async def test_grpc_auth_client_against_a_stub_server() -> None:
    server = grpc.aio.server()
    agrpc.add_AuthInternalServiceServicer_to_server(StubAuth(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        client = GrpcAuthClient(channel)
        assert await client.organization_role("o1", "admin-of-org") == Role.OWNER
        assert await client.organization_role("o1", "nobody") == Role.NONE
        assert await client.user_organizations("u") == [("o1", Role.CONTRIBUTOR)]
        assert await client.is_administrator("root") and not await client.is_administrator("ada")
        assert await client.user_display_name("ada") == "Ada"
        assert await client.revoke_leaked_token("symp_x", "somewhere") == "OUTCOME_REVOKED"
    finally:
        await channel.close()
        await server.stop(0)
