"""gRPC adapters: proto in, domain call, proto out. No SQL, no sessions, no `context.abort`."""

from __future__ import annotations

from symphony.analytics.v1 import analytics_internal_service_pb2_grpc, analytics_service_pb2_grpc
from symphony_analytics.domain.service import AnalyticsService


class AnalyticsServicer(analytics_service_pb2_grpc.AnalyticsServiceServicer):
    """RPCs not overridden here answer UNIMPLEMENTED (reason NOT_IMPLEMENTED) until their issue lands."""

    def __init__(self, service: AnalyticsService) -> None:
        self.service = service


class AnalyticsInternalServicer(analytics_internal_service_pb2_grpc.AnalyticsInternalServiceServicer):
    def __init__(self, service: AnalyticsService) -> None:
        self.service = service
