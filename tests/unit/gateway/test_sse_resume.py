"""Which server streams resume from Last-Event-ID (the `since`/`cursor` convention)."""

from symphony.sync.v1 import sync_service_pb2
from symphony.testing.v1 import echo_service_pb2
from symphony_gateway.transcoding.router import Resume, resume_of


def _method(module, service: str, name: str):
    return module.DESCRIPTOR.services_by_name[service].methods_by_name[name]


def test_watch_resumes_from_its_cursor() -> None:
    watch = _method(sync_service_pb2, "SyncService", "Watch")
    assert resume_of(watch) == Resume("since", "cursor")


def test_streams_and_calls_without_the_pair_do_not() -> None:
    assert resume_of(_method(echo_service_pb2, "EchoService", "Expand")) is None
    # PullChanges has `cursor` in its response but is not a stream.
    assert resume_of(_method(sync_service_pb2, "SyncService", "PullChanges")) is None
