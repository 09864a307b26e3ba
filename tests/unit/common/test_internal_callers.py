"""Every internal RPC names the services allowed to call it (ServiceDefinition.internal_callers),
so a new internal method cannot slip in open to every peer."""

from __future__ import annotations

import pytest

from symphony.analytics.v1 import analytics_internal_service_pb2
from symphony.auth.v1 import auth_internal_service_pb2
from symphony.registry.v1 import registry_internal_service_pb2
from symphony.sync.v1 import sync_internal_service_pb2
from symphony_analytics.bootstrap import DEFINITION as ANALYTICS
from symphony_auth.bootstrap import DEFINITION as AUTH
from symphony_common.config import DEFAULT_PORTS
from symphony_registry.bootstrap import DEFINITION as REGISTRY
from symphony_sync.bootstrap import DEFINITION as SYNC


@pytest.mark.parametrize(
    ("definition", "module"),
    [
        (AUTH, auth_internal_service_pb2),
        (REGISTRY, registry_internal_service_pb2),
        (SYNC, sync_internal_service_pb2),
        (ANALYTICS, analytics_internal_service_pb2),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_every_internal_method_lists_its_callers(definition, module) -> None:
    methods = {
        f"/{service.full_name}/{method.name}"
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert methods and set(definition.internal_callers) == methods
    for callers in definition.internal_callers.values():
        assert callers and callers <= set(DEFAULT_PORTS) - {definition.name}
