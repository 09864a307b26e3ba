import math

import pytest
from google.protobuf import any_pb2, descriptor_pb2, json_format, struct_pb2, timestamp_pb2
from google.rpc import error_details_pb2, status_pb2

from symphony.testing.v1 import echo_service_pb2
from symphony_gateway.discovery import discover_services
from symphony_gateway.transcoding.render import encoder_for


def reference(message):
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def samples():
    request = echo_service_pb2.EchoRequest(
        message="m",
        tags=["a", "b"],
        big_number=-(2**62),
        kind=echo_service_pb2.KIND_FANCY,
        fail_with=3,
        flag=True,
        blob=b"\x00\xff",
        nested=echo_service_pb2.Nested(name="n", numbers=[1, 2]),
        payload=echo_service_pb2.Payload(
            text="t",
            time=timestamp_pb2.Timestamp(seconds=1, nanos=5000),
            data=struct_pb2.Struct(fields={"k": struct_pb2.Value(number_value=1.5)}),
        ),
    )
    request.update_mask.paths.extend(["payload.text", "tags"])
    yield echo_service_pb2.EchoResponse()
    yield echo_service_pb2.EchoResponse(request=request, sequence=7)
    yield echo_service_pb2.EchoResponse(
        request=echo_service_pb2.EchoRequest(kind=99)
    )  # unknown enum
    info = error_details_pb2.ErrorInfo(reason="R", domain="d", metadata={"a": "1", "b": "2"})
    detail = any_pb2.Any()
    detail.Pack(info)
    yield info
    yield status_pb2.Status(code=5, message="x", details=[detail])
    # A descriptor exercises optional scalars, nested repeated messages, enums and more.
    proto = descriptor_pb2.FileDescriptorProto()
    echo_service_pb2.DESCRIPTOR.CopyToProto(proto)
    yield proto
    options = descriptor_pb2.FieldOptions(deprecated=True)
    yield options
    yield descriptor_pb2.UninterpretedOption(double_value=math.inf, positive_int_value=2**64 - 1)
    yield descriptor_pb2.UninterpretedOption(double_value=math.nan)


@pytest.mark.parametrize("message", list(samples()), ids=lambda m: type(m).__name__)
def test_compiled_encoder_matches_json_format(message):
    assert encoder_for(message.DESCRIPTOR)(message) == reference(message)


def test_encoders_compile_for_every_discovered_response_type():
    for service in discover_services():
        for method in service.methods:
            message = json_format.ParseDict({}, _cls(method.output_type)())
            assert encoder_for(method.output_type)(message) == reference(message)


def _cls(descriptor):
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)
