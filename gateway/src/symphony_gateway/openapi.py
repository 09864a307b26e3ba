"""OpenAPI 3.1 from the same descriptors the router serves: one operation per binding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from symphony_gateway.transcoding.path_template import PathTemplate, Variable
from symphony_gateway.transcoding.query import enum_type_of, is_map, message_type_of
from symphony_gateway.transcoding.router import Route

_F = FieldDescriptor
# 64-bit integers are written as decimal strings in proto3 JSON; a number is accepted too.
_INT64 = {"type": ["string", "integer"], "format": "int64", "pattern": r"^-?[0-9]+$"}
_UINT64 = {"type": ["string", "integer"], "format": "uint64", "pattern": r"^[0-9]+$", "minimum": 0}
_SCALARS: dict[int, dict[str, Any]] = {
    _F.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _F.TYPE_FLOAT: {"type": "number", "format": "float"},
    _F.TYPE_INT64: _INT64,
    _F.TYPE_UINT64: _UINT64,
    _F.TYPE_INT32: {"type": "integer", "format": "int32"},
    _F.TYPE_FIXED64: _UINT64,
    _F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_STRING: {"type": "string"},
    _F.TYPE_BYTES: {"type": "string", "format": "byte", "contentEncoding": "base64"},
    _F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    _F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _F.TYPE_SFIXED64: _INT64,
    _F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SINT64: _INT64,
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string", "description": "Comma-separated field paths."},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "properties": {}},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
    "google.protobuf.DoubleValue": {"type": ["number", "null"]},
    "google.protobuf.FloatValue": {"type": ["number", "null"]},
    "google.protobuf.Int64Value": {"type": ["string", "null"], "format": "int64"},
    "google.protobuf.UInt64Value": {"type": ["string", "null"], "format": "uint64"},
    "google.protobuf.Int32Value": {"type": ["integer", "null"], "format": "int32"},
    "google.protobuf.UInt32Value": {"type": ["integer", "null"], "format": "int64"},
    "google.protobuf.BoolValue": {"type": ["boolean", "null"]},
    "google.protobuf.StringValue": {"type": ["string", "null"]},
    "google.protobuf.BytesValue": {"type": ["string", "null"], "format": "byte"},
}
BEARER = "bearerAuth"
_SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from a sign-in (a JWT) or a personal access token.",
    }
}
_OPENAPI_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "status"],
            "properties": {
                "code": {"type": "integer", "description": "The HTTP status code."},
                "message": {"type": "string"},
                "status": {"type": "string", "description": "The google.rpc.Code name."},
                "details": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/google.protobuf.Any"},
                },
            },
        }
    },
}


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": _ERROR_SCHEMA}

    def ref(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def message(self, descriptor: Descriptor) -> dict[str, Any]:
        name = descriptor.full_name
        if name in _WELL_KNOWN:
            if name not in self.components:
                self.components[name] = _WELL_KNOWN[name]
            return self.ref(name)
        if name not in self.components:
            self.components[name] = {}  # placeholder: recursive messages end here
            schema: dict[str, Any] = {
                "type": "object",
                "properties": {f.json_name: _nullable(self.field(f)) for f in descriptor.fields},
                "additionalProperties": False,
            }
            if exclusive := _oneof_exclusions(descriptor):
                schema["not"] = {"anyOf": exclusive}
            self.components[name] = schema
        return self.ref(name)

    def enum(self, descriptor: EnumDescriptor) -> dict[str, Any]:
        name = descriptor.full_name
        if name not in self.components:
            # Answers carry the value's name; requests may give its number instead (proto3
            # JSON), including numbers the enum does not name yet (proto3 enums are open).
            self.components[name] = {
                "anyOf": [
                    {"type": "string", "enum": [v.name for v in descriptor.values]},
                    {"type": "integer", "format": "int32"},
                ]
            }
        return self.ref(name)

    def single(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.type == _F.TYPE_MESSAGE:
            return self.message(message_type_of(field))
        if field.type == _F.TYPE_ENUM:
            return self.enum(enum_type_of(field))
        return dict(_SCALARS[field.type])

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        if is_map(field):
            value = message_type_of(field).fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.single(value)}
        if field.is_repeated:
            return {"type": "array", "items": self.single(field)}
        return self.single(field)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """A message field's schema that also admits `null`: proto3 JSON reads `null` as the
    field's default value, so the gateway accepts it for every field of a request body."""
    if not schema:
        return schema  # google.protobuf.Value: null is one of its values already
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*types, "null"]} if "null" not in types else schema


_NOT_NULL: dict[str, Any] = {"not": {"type": "null"}}


def _oneof_exclusions(descriptor: Descriptor) -> list[dict[str, Any]]:
    """For each pair of members of one (real) oneof, the objects that set both: a message may
    set at most one member of a oneof (a `null` member counts as unset)."""
    exclusive: list[dict[str, Any]] = []
    for oneof in descriptor.oneofs:
        members = [f.json_name for f in oneof.fields]
        if len(members) < 2:
            continue  # proto3 `optional`: a synthetic oneof of one field
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                exclusive.append(
                    {
                        "required": [first, second],
                        "properties": {first: _NOT_NULL, second: _NOT_NULL},
                    }
                )
    return exclusive


def _field_at(descriptor: Descriptor, dotted: str) -> FieldDescriptor:
    names = dotted.split(".")
    for name in names[:-1]:
        descriptor = message_type_of(descriptor.fields_by_name[name])
    return descriptor.fields_by_name[names[-1]]


def openapi_path(template: PathTemplate) -> tuple[str, list[tuple[str, Variable | None]]]:
    """The OpenAPI path of a template and its parameters (name, variable).

    A variable's literal segments are written out and each of its `*` becomes a parameter
    named after the collection before it (`{name=organizations/*}` →
    `organizations/{organizations_id}`), so that `/v1/{name=organizations/*}` and
    `/v1/{name=namespaces/*}` stay distinct paths and no parameter value holds a `/`.
    A plain `{field}` keeps its name; `**` takes the field's name and matches the rest.
    """
    parts: list[str] = []
    params: list[tuple[str, Variable | None]] = []
    used: set[str] = set()

    def name_for(base: str) -> str:
        name, n = base, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        return name

    for segment in template.segments:
        if not isinstance(segment, Variable):
            if segment in ("*", "**"):
                name = name_for("wildcard")
                parts.append("{" + name + "}")
                params.append((name, None))
            else:
                parts.append(segment)
            continue
        if segment.segments == ("*",) or segment.segments == ("**",):
            name = name_for(segment.dotted)
            parts.append("{" + name + "}")
            params.append((name, segment))
            continue
        previous = ""
        for sub in segment.segments:
            if sub in ("*", "**"):
                name = name_for(f"{previous}_id" if previous and sub == "*" else segment.dotted)
                parts.append("{" + name + "}")
                params.append((name, segment))
            else:
                parts.append(sub)
                previous = sub
    path = "/" + "/".join(parts)
    return (path + ":" + template.verb if template.verb else path), params


def _path_parameters(
    route: Route, schemas: _Schemas
) -> list[tuple[str, Variable | None, dict[str, Any], str]]:
    request = route.method.input_type
    found: list[tuple[str, Variable | None, dict[str, Any], str]] = []
    for name, variable in openapi_path(route.template)[1]:
        if variable is None:
            found.append((name, None, {"type": "string"}, "A path segment."))
            continue
        field = _field_at(request, variable.dotted)
        if variable.segments in (("*",), ("**",)):
            schema = schemas.single(field)
            description = f"The request field `{variable.dotted}`."
        else:
            schema = {"type": "string", "pattern": "^[^/]+$"}
            description = (
                f"One segment of the request field `{variable.dotted}` "
                f"(`{'/'.join(variable.segments)}`)."
            )
        if "**" in variable.segments:
            description += " May contain `/`."
        found.append((name, variable, schema, description))
    return found


def _operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    request = route.method.input_type
    parameters: list[dict[str, Any]] = []
    for name, _variable, schema, description in _path_parameters(route, schemas):
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": description,
                "schema": schema,
            }
        )
    unique = {id(setter): setter for setter in route.query.setters.values()}
    for setter in unique.values():
        field = _field_at(request, setter.name)
        schema = schemas.field(field)
        param: dict[str, Any] = {
            "name": setter.json_name,
            "in": "query",
            "required": False,
            "description": f"`{setter.name}`; the proto name is accepted too.",
            "schema": schema,
        }
        if setter.repeated:
            param["style"] = "form"
            param["explode"] = True
        parameters.append(param)

    if route.response_field:
        response_schema = schemas.field(
            route.method.output_type.fields_by_name[route.response_field]
        )
    else:
        response_schema = schemas.message(route.method.output_type)
    if route.server_streaming:
        # OpenAPI 3.1 has no `itemSchema` (3.2): `schema` of an event stream describes one
        # event, as tools read it. `data` holds one message as JSON; `event: error` the envelope.
        content = {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        # No `event:` line means "message" (the SSE default).
                        "event": {"type": "string", "enum": ["message", "error"]},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": response_schema,
                        },
                        "id": {"type": "string"},
                        "retry": {"type": "integer"},
                    },
                },
                "x-event-data": response_schema,
            }
        }
        description = "A stream of Server-Sent Events; each `data:` line is one message."
        if route.resume is not None:
            description += (
                f" Each event's `id:` is its `{route.resume.response_field}`; reconnecting with "
                f"`Last-Event-ID` resumes after it (as `{route.resume.request_field}`)."
            )
    else:
        content = {"application/json": {"schema": response_schema}}
        description = "OK"
    error = {
        "description": "An error in the envelope of google.rpc.Status.",
        "content": {"application/json": {"schema": schemas.ref("Error")}},
    }
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": f"{route.service.name}.{route.method.name}",
        "description": f"gRPC `{route.rpc_path}`.",
        "tags": [route.service.full_name],
        "parameters": parameters,
        "responses": {"200": {"description": description, "content": content}, "default": error},
    }
    if route.body.mode:
        body_schema = (
            schemas.message(request)
            if route.body.field is None
            # `body: "<field>"`: the body is that field's value, so `null` leaves it unset.
            else _nullable(schemas.field(route.body.field))
        )
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": body_schema}},
        }
    return operation


def build_openapi(
    routes: Sequence[Route], *, title: str = "Symphony Backbone API", version: str = "v1"
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes."""
    schemas = _Schemas()
    schemas.message(_any_descriptor())
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        item = paths.setdefault(openapi_path(route.template)[0], {})
        method = route.http_method.lower()
        if method not in _OPENAPI_METHODS or method in item:
            continue  # the router logged the shadowed binding
        item[method] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": schemas.components, "securitySchemes": _SECURITY_SCHEMES},
        # Services decide per RPC whether a caller is needed (see each RPC's proto comment), so
        # the credential is optional here: anonymous, or an access or personal access token.
        "security": [{}, {BEARER: []}],
    }


def _any_descriptor() -> Descriptor:
    from google.protobuf import any_pb2

    return any_pb2.Any.DESCRIPTOR
