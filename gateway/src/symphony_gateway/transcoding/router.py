"""Routes built once from the descriptors, and the dispatch table that finds them.

Dispatch looks up the HTTP method, then the first two literal segments of the path (`v1`,
`echo`), and only then runs the compiled templates of that bucket, most specific first.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor

from symphony_gateway.errors import GatewayError, gateway_error
from symphony_gateway.transcoding.body import BodyMapper
from symphony_gateway.transcoding.http_rule import Binding, bindings_of
from symphony_gateway.transcoding.path_template import PathTemplate, TemplateError, parse
from symphony_gateway.transcoding.query import FieldSetter, QueryParser, setter_for_path
from symphony_gateway.transcoding.render import Encoder, encoder_for

log = logging.getLogger(__name__)

_KEY_DEPTH = 2

# Server-Sent Events resume, by the contracts' naming convention: a stream whose messages carry
# an integer `cursor` and whose request takes `since` sends each event with `id: <cursor>`, and a
# browser reconnecting with `Last-Event-ID` gets `since` filled from it (unless the query set it).
RESUME_REQUEST_FIELD = "since"
RESUME_RESPONSE_FIELD = "cursor"
_INTEGER_TYPES = frozenset(
    {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_INT32}
)


@dataclass(frozen=True, slots=True)
class Resume:
    """How a stream resumes: which request field takes Last-Event-ID, which response field is
    each event's id."""

    request_field: str
    response_field: str


def resume_of(method: MethodDescriptor) -> Resume | None:
    if not method.server_streaming:
        return None
    since = method.input_type.fields_by_name.get(RESUME_REQUEST_FIELD)
    cursor = method.output_type.fields_by_name.get(RESUME_RESPONSE_FIELD)
    for f in (since, cursor):
        if f is None or f.type not in _INTEGER_TYPES or f.is_repeated:
            return None
    return Resume(RESUME_REQUEST_FIELD, RESUME_RESPONSE_FIELD)


@dataclass(eq=False, slots=True)
class Route:
    """Everything a request on one binding needs, computed at start-up."""

    binding: Binding
    template: PathTemplate
    service: ServiceDescriptor
    method: MethodDescriptor
    backend: str
    rpc_path: str
    request_cls: Any
    response_cls: Any
    server_streaming: bool
    path_vars: tuple[tuple[int, bool, FieldSetter], ...]
    body: BodyMapper
    query: QueryParser
    response_field: str | None
    operation_id: str
    encode: Encoder  # response message → JSON-ready object
    resume: Resume | None = None
    call: Any = field(default=None)  # the multi-callable, bound on first use

    @property
    def http_method(self) -> str:
        return self.binding.http_method


def build_route(
    service: ServiceDescriptor,
    method: MethodDescriptor,
    binding: Binding,
    backend: str,
    operation_id: str,
) -> Route:
    """Compile one binding; raises ValueError/TemplateError when the rule is unusable."""
    template = parse(binding.template)
    request = method.input_type
    path_vars = tuple(
        (v.group, v.multi_segment, setter_for_path(request, v.dotted)) for v in template.variables
    )
    bound = {v.dotted for v in template.variables}
    body = BodyMapper(request, binding.body, binding.http_method)
    if body.field is not None:
        bound.add(body.field.name)
    query = QueryParser(request, bound, allowed=binding.body != "*")
    response_field = binding.response_body or None
    if response_field and response_field not in method.output_type.fields_by_name:
        raise ValueError(f"{method.output_type.full_name} has no field {response_field!r}")
    return Route(
        binding=binding,
        template=template,
        service=service,
        method=method,
        backend=backend,
        rpc_path=f"/{service.full_name}/{method.name}",
        request_cls=message_factory.GetMessageClass(request),
        response_cls=message_factory.GetMessageClass(method.output_type),
        server_streaming=method.server_streaming,
        path_vars=path_vars,
        body=body,
        query=query,
        response_field=response_field,
        operation_id=operation_id,
        encode=encoder_for(method.output_type),
        resume=resume_of(method),
    )


def build_routes(services: Iterable[ServiceDescriptor], backend_of: dict[str, str]) -> list[Route]:
    """Routes of every annotated RPC of the given services whose package has a backend.

    `backend_of` maps a proto package to its backend name; a service without one is skipped.
    """
    routes: list[Route] = []
    for service in services:
        backend = backend_of.get(service.file.package)
        if backend is None:
            log.info("no backend for %s; its routes are not served", service.full_name)
            continue
        for method in service.methods:
            bindings = bindings_of(method)
            if not bindings:
                continue
            if method.client_streaming:
                log.warning("%s is client-streaming; it cannot be transcoded", method.full_name)
                continue
            for binding in bindings:
                suffix = f"_{binding.index}" if binding.index else ""
                operation_id = f"{service.name}_{method.name}{suffix}"
                try:
                    routes.append(build_route(service, method, binding, backend, operation_id))
                except (TemplateError, ValueError) as exc:
                    log.error(
                        "skipping %s %s of %s: %s",
                        binding.http_method,
                        binding.template,
                        method.full_name,
                        exc,
                    )
    return routes


def _key(path: str) -> tuple[str, ...]:
    parts = path[1:].split("/", _KEY_DEPTH)[:_KEY_DEPTH]
    return tuple(part.partition(":")[0] for part in parts)


class _MethodTable:
    __slots__ = ("by_one", "by_two", "rest")

    def __init__(self, routes: Sequence[Route]) -> None:
        deep: dict[tuple[str, ...], list[Route]] = defaultdict(list)
        one: dict[str, list[Route]] = defaultdict(list)
        rest: list[Route] = []
        for route in routes:
            prefix = route.template.literal_prefix
            if len(prefix) >= _KEY_DEPTH:
                deep[prefix[:_KEY_DEPTH]].append(route)
            elif len(prefix) == 1:
                one[prefix[0]].append(route)
            else:
                rest.append(route)

        def order(items: list[Route]) -> tuple[Route, ...]:
            return tuple(sorted(items, key=lambda r: r.template.specificity))

        self.rest = order(rest)
        self.by_one = {first: order(items + rest) for first, items in one.items()}
        self.by_two = {
            key: order(items + one.get(key[0], []) + rest) for key, items in deep.items()
        }

    def candidates(self, key: tuple[str, ...]) -> tuple[Route, ...]:
        if len(key) == _KEY_DEPTH:
            found = self.by_two.get(key)
            if found is not None:
                return found
        if key:
            found = self.by_one.get(key[0])
            if found is not None:
                return found
        return self.rest


class Router:
    """Finds the route of (method, raw path) or raises a 404/405 GatewayError."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        by_method: dict[str, list[Route]] = defaultdict(list)
        seen: dict[tuple[str, str], Route] = {}
        for route in routes:
            signature = (route.http_method, route.template.regex.pattern)
            if signature in seen:
                log.error(
                    "%s %s of %s is shadowed by %s",
                    route.http_method,
                    route.binding.template,
                    route.method.full_name,
                    seen[signature].method.full_name,
                )
                continue
            seen[signature] = route
            by_method[route.http_method].append(route)
        self._tables = {method: _MethodTable(items) for method, items in by_method.items()}

    def match(self, method: str, path: str) -> tuple[Route, Any]:
        key = _key(path)
        table = self._tables.get(method)
        if table is not None:
            for route in table.candidates(key):
                found = route.template.regex.fullmatch(path)
                if found is not None:
                    return route, found
        allowed = sorted(
            other
            for other, other_table in self._tables.items()
            if other != method
            and any(r.template.regex.fullmatch(path) for r in other_table.candidates(key))
        )
        if allowed:
            raise gateway_error(
                grpc.StatusCode.UNIMPLEMENTED,
                f"Method {method} is not allowed on this path.",
                "METHOD_NOT_ALLOWED",
                http_status=405,
                headers=[("allow", ", ".join(allowed))],
            )
        raise not_found(path)


def not_found(path: str) -> GatewayError:
    return gateway_error(
        grpc.StatusCode.NOT_FOUND, f"No route matches {path[:200]}.", "ROUTE_NOT_FOUND"
    )


__all__ = ["FieldDescriptor", "Route", "Router", "build_route", "build_routes", "not_found"]
