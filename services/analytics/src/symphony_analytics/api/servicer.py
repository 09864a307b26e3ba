"""gRPC adapters: proto in, domain call, proto out. No SQL, no sessions, no `context.abort`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from symphony.analytics.v1 import (
    analytics_internal_service_pb2 as ipb,
)
from symphony.analytics.v1 import (
    analytics_internal_service_pb2_grpc,
    analytics_service_pb2_grpc,
)
from symphony.analytics.v1 import (
    analytics_service_pb2 as spb,
)
from symphony.analytics.v1 import (
    resources_pb2 as rpb,
)
from symphony_analytics.api import converters as conv
from symphony_analytics.domain.service import AnalyticsService, IngestMessage
from symphony_common.context import current_principal
from symphony_common.grpc.interceptors import decode_request


def client_address(context: grpc.aio.ServicerContext, trusted: frozenset[str]) -> str:
    """The caller's address, used only in memory for rate limits (never stored). A trusted
    proxy's (the gateway's) `x-forwarded-for` names the real client."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        host = rest.rsplit(":", 1)[0]
    elif kind == "ipv6":
        host = rest.rsplit(":", 1)[0].strip("[]")
    else:
        host = peer
    if host in trusted:
        for key, value in context.invocation_metadata() or ():
            if key == "x-forwarded-for" and isinstance(value, str) and value.strip():
                return value.split(",")[0].strip()[:64]
    return host


class AnalyticsServicer(analytics_service_pb2_grpc.AnalyticsServiceServicer):
    def __init__(
        self, service: AnalyticsService, trusted_proxies: frozenset[str] = frozenset()
    ) -> None:
        self.service = service
        self.trusted = trusted_proxies

    async def GetEventSchema(
        self, request: spb.GetEventSchemaRequest, context: Any
    ) -> rpb.EventSchema:
        return conv.event_schema(self.service.get_schema(request.version))

    async def BatchIngestEvents(self, raw: bytes, context: Any) -> spb.BatchIngestEventsResponse:
        # The request arrives as bytes (the service definition's raw_requests): a batch of
        # valid events goes to the rows to store in one native pass, the rest is decoded here.
        outcome = await self.service.ingest_encoded_batch(
            raw,
            client_address(context, self.trusted),
            lambda: conv.ingest_message(
                decode_request(spb.BatchIngestEventsRequest.FromString, raw, check_times=False)
            ),
        )
        return spb.BatchIngestEventsResponse(
            accepted_count=outcome.accepted,
            duplicate_count=outcome.duplicates,
            rejected_count=len(outcome.rejected),
            rejected_events=conv.rejected_events(outcome),
            schema_version=outcome.schema_version,
        )

    async def StreamIngestEvents(
        self, request_iterator: AsyncIterator[spb.StreamIngestEventsRequest], context: Any
    ) -> spb.StreamIngestEventsResponse:
        async def messages() -> AsyncIterator[IngestMessage]:
            async for request in request_iterator:
                yield conv.ingest_message(request)

        outcome = await self.service.ingest_stream(
            messages(), client_address(context, self.trusted)
        )
        return spb.StreamIngestEventsResponse(
            accepted_count=outcome.accepted,
            duplicate_count=outcome.duplicates,
            rejected_count=len(outcome.rejected),
            rejected_events=conv.rejected_events(outcome),
            schema_version=outcome.schema_version,
        )

    async def QueryTimeSeries(
        self, request: spb.QueryTimeSeriesRequest, context: Any
    ) -> spb.QueryTimeSeriesResponse:
        result = await self.service.time_series(
            event=request.event,
            interval=conv.interval(request.interval),
            start=conv.optional_time(request, "start_time"),
            end=conv.optional_time(request, "end_time"),
            group_by=request.group_by,
            filters=list(request.filters),
            group_limit=request.group_limit,
            address=client_address(context, self.trusted),
        )
        return spb.QueryTimeSeriesResponse(
            event=result.event,
            interval=conv.interval_proto(result.interval),
            start_time=conv.timestamp(result.start),
            end_time=conv.timestamp(result.end),
            group_by=result.group_by,
            series=conv.time_series(result.series),
            suppression_threshold=result.threshold,
            data_through_time=conv.timestamp(result.data_through),
        )

    async def QueryActiveInstalls(
        self, request: spb.QueryActiveInstallsRequest, context: Any
    ) -> spb.QueryActiveInstallsResponse:
        result = await self.service.active_installs(
            period=conv.period(request.period),
            start=conv.optional_time(request, "start_time"),
            end=conv.optional_time(request, "end_time"),
            group_by=request.group_by,
            filters=list(request.filters),
            group_limit=request.group_limit,
            address=client_address(context, self.trusted),
        )
        return spb.QueryActiveInstallsResponse(
            period=conv.PERIOD_PROTOS[result.period],
            start_time=conv.timestamp(result.start),
            end_time=conv.timestamp(result.end),
            group_by=result.group_by,
            series=conv.active_series(result.series),
            suppression_threshold=result.threshold,
            data_through_time=conv.timestamp(result.data_through),
        )

    async def QueryTopEvents(
        self, request: spb.QueryTopEventsRequest, context: Any
    ) -> spb.QueryTopEventsResponse:
        result = await self.service.top_events(
            start=conv.optional_time(request, "start_time"),
            end=conv.optional_time(request, "end_time"),
            filters=list(request.filters),
            limit=request.limit,
            address=client_address(context, self.trusted),
        )
        return spb.QueryTopEventsResponse(
            events=[
                rpb.EventTotal(
                    event=e.event,
                    event_count=e.events,
                    install_count=min(e.installs, 2**31 - 1),
                    suppressed=e.suppressed,
                )
                for e in result.events
            ],
            start_time=conv.timestamp(result.start),
            end_time=conv.timestamp(result.end),
            suppression_threshold=result.threshold,
            data_through_time=conv.timestamp(result.data_through),
        )

    async def QueryDroppedEvents(
        self, request: spb.QueryDroppedEventsRequest, context: Any
    ) -> spb.QueryDroppedEventsResponse:
        result = await self.service.dropped_events(
            start=conv.optional_time(request, "start_time"),
            end=conv.optional_time(request, "end_time"),
            address=client_address(context, self.trusted),
        )
        return spb.QueryDroppedEventsResponse(
            counts=[
                rpb.DroppedEventCount(reason=conv.reason(c.reason), event=c.event, count=c.count)
                for c in result.counts
            ],
            dropped_total=result.dropped_total,
            accepted_total=result.accepted_total,
            duplicate_total=result.duplicate_total,
            start_time=conv.timestamp(result.start),
            end_time=conv.timestamp(result.end),
        )

    async def GetExtensionStats(
        self, request: spb.GetExtensionStatsRequest, context: Any
    ) -> rpb.ExtensionStats:
        result = await self.service.extension_stats(
            namespace=request.namespace,
            extension=request.extension,
            version=request.version,
            start=conv.optional_time(request, "start_time"),
            end=conv.optional_time(request, "end_time"),
            principal=current_principal(),
            address=client_address(context, self.trusted),
        )
        return rpb.ExtensionStats(
            name=f"namespaces/{result.namespace}/extensions/{result.extension}/stats",
            start_time=conv.timestamp(result.start),
            end_time=conv.timestamp(result.end),
            totals=conv.totals(result.totals),
            points=conv.stats_points(result.points),
            versions=[
                rpb.VersionStats(
                    version=v.version,
                    totals=conv.totals(v.totals),
                    points=conv.stats_points(v.points),
                )
                for v in result.versions
            ],
            suppression_applied=result.suppression_applied,
            suppression_threshold=result.threshold,
            data_through_time=conv.timestamp(result.data_through),
        )


class AnalyticsInternalServicer(
    analytics_internal_service_pb2_grpc.AnalyticsInternalServiceServicer
):
    def __init__(self, service: AnalyticsService) -> None:
        self.service = service

    async def RecordDownloads(
        self, request: ipb.RecordDownloadsRequest, context: Any
    ) -> ipb.RecordDownloadsResponse:
        recorded, duplicates = await self.service.record_downloads(
            [conv.download_count(r) for r in request.counts]
        )
        return ipb.RecordDownloadsResponse(recorded_count=recorded, duplicate_count=duplicates)
