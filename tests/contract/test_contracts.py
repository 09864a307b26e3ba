"""Contract checks over all four services' descriptors: every RPC has a handler, every RPC
the website needs has an HTTP rule, no two services share a route, internal services are
never routed."""

from __future__ import annotations

import importlib
import re

import pytest
from google.api import annotations_pb2
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

SERVICES = ("auth", "registry", "sync", "analytics")

# RPCs without an HTTP rule on purpose: streams of raw bytes that the gateway serves through
# hand-written routes, and the editor's own client stream.
UNROUTED = {
    "symphony.registry.v1.RegistryService.UploadPackage": "raw upload route in the gateway",
    "symphony.registry.v1.RegistryService.DownloadPackage": "raw download route in the gateway",
    "symphony.analytics.v1.AnalyticsService.StreamIngestEvents": "editor-only client stream",
}


def services() -> list[tuple[str, ServiceDescriptor]]:
    found = []
    for svc in SERVICES:
        for suffix in ("service", "internal_service"):
            module = importlib.import_module(f"symphony.{svc}.v1.{svc}_{suffix}_pb2")
            found.extend(
                (svc, descriptor) for descriptor in module.DESCRIPTOR.services_by_name.values()
            )
    return found


def http_rule(method: MethodDescriptor):
    options = method.GetOptions()
    return (
        options.Extensions[annotations_pb2.http]
        if options.HasExtension(annotations_pb2.http)
        else None
    )


def bindings(rule) -> list[tuple[str, str]]:
    out = []
    for r in [rule, *rule.additional_bindings]:
        kind = r.WhichOneof("pattern")
        path = r.custom.path if kind == "custom" else getattr(r, kind)
        verb = r.custom.kind if kind == "custom" else kind.upper()
        out.append((verb, path))
    return out


def test_every_public_rpc_has_an_http_rule_and_internal_ones_none() -> None:
    missing, routed_internal = [], []
    for _, service in services():
        for method in service.methods:
            rule = http_rule(method)
            if service.name.endswith("InternalService"):
                if rule is not None:
                    routed_internal.append(method.full_name)
            elif rule is None and method.full_name not in UNROUTED:
                missing.append(method.full_name)
    assert missing == []
    assert routed_internal == []


def _shape(path: str) -> str:
    """A route's shape, variable names erased: `/v1/{name=namespaces/*}` → `/v1/namespaces/*`."""

    def expand(match: re.Match[str]) -> str:
        inner = match.group(1)
        return inner.split("=", 1)[1] if "=" in inner else "*"

    return re.sub(r"\{([^}]*)\}", expand, path)


def test_no_two_rpcs_share_a_route() -> None:
    seen: dict[tuple[str, str], str] = {}
    clashes = []
    for _, service in services():
        for method in service.methods:
            rule = http_rule(method)
            if rule is None:
                continue
            for verb, path in bindings(rule):
                key = (verb, _shape(path))
                if key in seen:
                    clashes.append((key, seen[key], method.full_name))
                seen[key] = method.full_name
    assert clashes == []


def test_routes_live_under_v1_or_well_known() -> None:
    stray = [
        (method.full_name, path)
        for _, service in services()
        for method in service.methods
        if (rule := http_rule(method)) is not None
        for _, path in bindings(rule)
        if not path.startswith(("/v1/", "/.well-known/"))
    ]
    assert stray == []


@pytest.mark.parametrize("svc", SERVICES)
def test_every_rpc_has_a_handler(svc: str) -> None:
    """Each servicer overrides every method of its service: nothing falls through to the
    generated base class (which would answer UNIMPLEMENTED)."""
    servicer_module = importlib.import_module(f"symphony_{svc}.api.servicer")
    unhandled = []
    for _, service in (s for s in services() if s[0] == svc):
        grpc_module = importlib.import_module(
            service.file.name.replace("/", ".").removesuffix(".proto") + "_pb2_grpc"
        )
        base = getattr(grpc_module, f"{service.name}Servicer")
        implementations = [
            cls
            for cls in vars(servicer_module).values()
            if isinstance(cls, type) and issubclass(cls, base) and cls is not base
        ]
        assert implementations, f"no servicer for {service.full_name}"
        for method in service.methods:
            if all(
                getattr(cls, method.name) is getattr(base, method.name) for cls in implementations
            ):
                unhandled.append(method.full_name)
    assert unhandled == []
