"""Every analytics RPC is implemented, and errors follow the contract: google.rpc.Status with an
ErrorInfo in the analytics domain, the documented reason, and the matching detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from symphony.analytics.v1 import analytics_internal_service_pb2 as ipb
from symphony.analytics.v1 import analytics_service_pb2 as spb
from symphony_common.tokens import (
    SERVICE_CREDENTIAL_HEADER,
    SERVICE_TOKEN_HEADER,
    service_credential,
)
from tests.integration.analytics.support import SERVICE_TOKEN, RegistryState, make_event, ts


def details(error: grpc.aio.AioRpcError) -> dict[str, object]:
    status = rpc_status.from_call(error)
    assert status is not None, "no google.rpc.Status"
    found: dict[str, object] = {}
    for any_ in status.details:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.RetryInfo,
            error_details_pb2.ResourceInfo,
            error_details_pb2.QuotaFailure,
        ):
            if any_.Is(kind.DESCRIPTOR):
                message = kind()
                any_.Unpack(message)
                found[kind.__name__] = message
    return found


async def test_every_rpc_is_implemented(
    stub, internal_stub, service_metadata, registry_state
) -> None:
    registry_state.extensions[("contract", "ext")] = {"1.0.0"}

    async def one():
        yield spb.StreamIngestEventsRequest(events=[make_event()])

    calls = [
        stub.GetEventSchema(spb.GetEventSchemaRequest()),
        stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=[make_event()])),
        stub.StreamIngestEvents(one()),
        stub.QueryTimeSeries(spb.QueryTimeSeriesRequest(event="file_opened")),
        stub.QueryActiveInstalls(spb.QueryActiveInstallsRequest()),
        stub.QueryTopEvents(spb.QueryTopEventsRequest()),
        stub.QueryDroppedEvents(spb.QueryDroppedEventsRequest()),
        stub.GetExtensionStats(spb.GetExtensionStatsRequest(namespace="contract", extension="ext")),
    ]
    for call in calls:
        await call
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await internal_stub.RecordDownloads(ipb.RecordDownloadsRequest(), metadata=service_metadata)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # implemented: it validated


@pytest.mark.parametrize(
    ("call", "code", "reason", "detail"),
    [
        (
            lambda s, i: s.GetEventSchema(spb.GetEventSchemaRequest(version=42)),
            grpc.StatusCode.NOT_FOUND,
            "SCHEMA_VERSION_NOT_FOUND",
            "ResourceInfo",
        ),
        (
            lambda s, i: s.BatchIngestEvents(spb.BatchIngestEventsRequest()),
            grpc.StatusCode.INVALID_ARGUMENT,
            "BATCH_EMPTY",
            "BadRequest",
        ),
        (
            lambda s, i: s.QueryTimeSeries(
                spb.QueryTimeSeriesRequest(event="file_opened", group_by="email")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNKNOWN_DIMENSION",
            "BadRequest",
        ),
        (
            lambda s, i: s.QueryTopEvents(spb.QueryTopEventsRequest(limit=1000)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_LIMIT",
            "BadRequest",
        ),
        (
            lambda s, i: s.GetExtensionStats(
                spb.GetExtensionStatsRequest(namespace="no", extension="such")
            ),
            grpc.StatusCode.NOT_FOUND,
            "EXTENSION_NOT_FOUND",
            "ResourceInfo",
        ),
        (
            lambda s, i: i.RecordDownloads(ipb.RecordDownloadsRequest()),
            grpc.StatusCode.UNAUTHENTICATED,
            "SERVICE_CREDENTIAL_REQUIRED",
            None,
        ),
    ],
)
async def test_errors_carry_the_documented_reason(
    stub, internal_stub, call, code, reason, detail
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(stub, internal_stub)
    assert error.value.code() == code
    found = details(error.value)
    info = found["ErrorInfo"]
    assert info.reason == reason and info.domain == "analytics.symphony.dev"
    if detail:
        assert detail in found


async def test_rate_limited_calls_carry_retry_info(
    analytics_url, redis_url, registry_address, signer
) -> None:
    from symphony.analytics.v1 import analytics_service_pb2_grpc
    from symphony_common.service import Overrides
    from tests.integration.analytics.support import start_analytics

    running = await start_analytics(
        analytics_url,
        redis_url,
        registry_address,
        Overrides(jwks_source=signer.jwks, extra={"maintenance": False}),
        address_events_per_minute=5,
        use_redis=False,  # the per-process limiter: no Redis timeouts on a loaded machine
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = analytics_service_pb2_grpc.AnalyticsServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as error:
                for _ in range(3):
                    await stub.BatchIngestEvents(
                        spb.BatchIngestEventsRequest(events=[make_event(), make_event()])
                    )
    finally:
        await running.stop()
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    found = details(error.value)
    assert (
        found["ErrorInfo"].reason == "RATE_LIMITED"
        and "RetryInfo" in found
        and "QuotaFailure" in found
    )


YESTERDAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def downloads_of(
    registry_state: RegistryState, extension: str, outbox_id: int, downloads: int
) -> ipb.RecordDownloadsRequest:
    """A RecordDownloads request of one row for `callers.<extension>` 1.0.0, yesterday."""
    registry_state.extensions[("callers", extension)] = {"1.0.0"}
    row = ipb.DownloadCount(
        outbox_id=outbox_id,
        namespace="callers",
        extension=extension,
        version="1.0.0",
        day=ts(YESTERDAY),
        downloads=downloads,
    )
    return ipb.RecordDownloadsRequest(counts=[row])


@pytest.mark.parametrize("caller", ["auth", "sync"])
async def test_record_downloads_accepts_the_registry_only(
    stub, internal_stub, service_metadata, registry_state, caller, clean
) -> None:
    request = downloads_of(registry_state, "check", outbox_id=7001, downloads=3)
    other = ((SERVICE_CREDENTIAL_HEADER, service_credential(SERVICE_TOKEN, caller)),)
    # Refused before the rows are looked at, so an invalid call is refused the same way.
    for refused in (request, ipb.RecordDownloadsRequest()):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await internal_stub.RecordDownloads(refused, metadata=other)
        assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
        info = details(error.value)["ErrorInfo"]
        assert info.reason == "SERVICE_NOT_ALLOWED" and info.domain == "analytics.symphony.dev"
    # Nothing was written: the same row from the registry is new, and counted once.
    recorded = await internal_stub.RecordDownloads(request, metadata=service_metadata)
    assert (recorded.recorded_count, recorded.duplicate_count) == (1, 0)
    stats = await stub.GetExtensionStats(
        spb.GetExtensionStatsRequest(
            namespace="callers", extension="check", start_time=ts(YESTERDAY - timedelta(days=1))
        )
    )
    assert stats.totals.downloads == 3


async def test_a_peer_presenting_the_bare_secret_is_let_through(
    internal_stub, registry_state, clean
) -> None:
    """Rollout allowance: a registry not yet upgraded still presents the shared secret."""
    recorded = await internal_stub.RecordDownloads(
        downloads_of(registry_state, "old", outbox_id=7002, downloads=1),
        metadata=((SERVICE_TOKEN_HEADER, SERVICE_TOKEN),),
    )
    assert recorded.recorded_count == 1
