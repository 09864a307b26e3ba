"""`google.api.http` rules → bindings (one per HTTP method and path, additional bindings too)."""

from __future__ import annotations

from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor


@dataclass(frozen=True, slots=True)
class Binding:
    """One HTTP binding of an RPC."""

    http_method: str  # upper case
    template: str
    body: str  # "" (none), "*" or a field name
    response_body: str  # "" or a field name
    index: int  # 0 for the main rule, 1.. for additional bindings


def rule_of(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    """The method's `google.api.http` option, or None."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return None
    return options.Extensions[annotations_pb2.http]


def _binding(rule: http_pb2.HttpRule, index: int) -> Binding | None:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        return None
    if kind == "custom":
        method, template = rule.custom.kind.upper(), rule.custom.path
    else:
        method, template = kind.upper(), getattr(rule, kind)
    return Binding(method, template, rule.body, rule.response_body, index)


def bindings_of(method: MethodDescriptor) -> list[Binding]:
    """All bindings of a method: the main rule then its additional bindings (one level deep,
    as the spec allows)."""
    rule = rule_of(method)
    if rule is None:
        return []
    found = []
    main = _binding(rule, 0)
    if main is not None:
        found.append(main)
    for i, extra in enumerate(rule.additional_bindings, start=1):
        binding = _binding(extra, i)
        if binding is not None:
            found.append(binding)
    return found


__all__ = ["Binding", "bindings_of", "rule_of"]
