from __future__ import annotations

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import resources_pb2 as pb
from tests.integration.registry.conftest import RegistryHarness
from tests.integration.registry.vsix import build_vsix


async def test_publish_scan_download_round_trip(registry: RegistryHarness) -> None:
    ns = await registry.namespace("alice")
    data = build_vsix(ns, "tools", "1.0.0")
    _, scan = await registry.publish(data, "alice")
    assert scan.state == pb.SCAN_STATE_PASSED, scan
    ext = await registry.stub.GetExtension(
        spb.GetExtensionRequest(name=f"namespaces/{ns}/extensions/tools")
    )
    assert ext.latest_version.version == "1.0.0"
    meta, body = await registry.download(f"namespaces/{ns}/extensions/tools/versions/latest")
    assert body == data and meta.size_bytes == len(data)
