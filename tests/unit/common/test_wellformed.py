from __future__ import annotations

import pytest

from symphony.testing.v1 import echo_service_pb2
from symphony_common.errors import InvalidArgument
from symphony_common.grpc import wellformed


def test_valid_timestamps_and_durations_pass() -> None:
    request = echo_service_pb2.EchoRequest(message="x")
    request.payload.time.FromJsonString("2026-11-25T08:00:00Z")
    wellformed.check(request)
    wellformed.check(
        echo_service_pb2.ExpandRequest(message="x", interval={"seconds": 3, "nanos": 5})
    )


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (
            lambda: echo_service_pb2.EchoRequest(payload={"time": {"nanos": 1_000_000_000}}),
            "payload.time",
        ),
        (
            lambda: echo_service_pb2.EchoRequest(payload={"time": {"seconds": 2**62}}),
            "payload.time",
        ),
        (lambda: echo_service_pb2.ExpandRequest(interval={"seconds": 2**62}), "interval"),
        (lambda: echo_service_pb2.ExpandRequest(interval={"seconds": 1, "nanos": -1}), "interval"),
    ],
)
def test_out_of_range_values_name_the_field(build, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        wellformed.check(build())
    assert info.value.field_violations[0].field == field
