"""The `stack` fixture brings up the real services and gateway (so this test is e2e)."""

from __future__ import annotations

import httpx
import pytest

from symphony_common.devstack import DEFAULT_GATEWAY_PORT, SERVICES, RunningStack, grpc_health_probe


def test_stack_serves_every_service_on_its_own_ports(
    stack: RunningStack, request: pytest.FixtureRequest
) -> None:
    assert request.node.get_closest_marker("e2e") is not None
    addresses = {svc: stack.grpc_address(svc) for svc in SERVICES}
    assert len(set(addresses.values())) == len(SERVICES)
    # Waits (a loaded machine can be slow to answer) but fails at once if a child has exited.
    stack.supervisor.wait_ready(
        {svc: grpc_health_probe(address) for svc, address in addresses.items()}, timeout=30
    )
    with httpx.Client(base_url=stack.gateway_url, trust_env=False) as client:
        assert client.get("/healthz").status_code == 200
    assert not stack.gateway_url.endswith(f":{DEFAULT_GATEWAY_PORT}")
    assert len(stack.service_token) >= 32
