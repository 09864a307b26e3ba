"""Every RPC of AuthService and AuthInternalService is implemented (none answers
UNIMPLEMENTED or INTERNAL for an empty request) and answers with AIP status semantics."""

from __future__ import annotations

import grpc
import pytest

from symphony.auth.v1 import auth_internal_service_pb2, auth_service_pb2
from symphony_auth.api.servicer import AuthInternalServicer, AuthServicer
from tests.integration.auth.support import SERVICE_TOKEN, AuthHarness, reason_of

PUBLIC = auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"]
INTERNAL = auth_internal_service_pb2.DESCRIPTOR.services_by_name["AuthInternalService"]


def test_rpc_counts_and_every_method_overridden() -> None:
    assert len(PUBLIC.methods) == 37 and len(INTERNAL.methods) == 7
    for service, servicer in ((PUBLIC, AuthServicer), (INTERNAL, AuthInternalServicer)):
        for method in service.methods:
            assert method.name in servicer.__dict__, method.name


@pytest.mark.parametrize(
    "method", [m for m in PUBLIC.methods] + [m for m in INTERNAL.methods], ids=lambda m: m.name
)
async def test_empty_request_gets_a_domain_answer(auth: AuthHarness, method) -> None:  # type: ignore[no-untyped-def]
    from google.protobuf import message_factory

    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = auth.channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    metadata = (
        (("x-symphony-service-token", SERVICE_TOKEN),)
        if "Internal" in method.containing_service.name
        else ()
    )
    try:
        await call(request_class(), metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        assert error.code() not in (
            grpc.StatusCode.UNIMPLEMENTED,
            grpc.StatusCode.INTERNAL,
            grpc.StatusCode.UNKNOWN,
        ), (method.name, error.code(), error.details())
        assert reason_of(error), method.name  # every error carries an ErrorInfo reason
