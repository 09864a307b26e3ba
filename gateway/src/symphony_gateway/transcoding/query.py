"""Query parameters and path variables → request fields.

Every field that neither the path nor the body binds may be given as a query parameter, by
proto name or JSON name, nested with dots (`nested.numbers`, `page_size` or `pageSize`);
a repeated field takes the key repeatedly. Values are converted as proto3 JSON would:
enums by name or number, 64-bit integers, bools, bytes in base64, and the string forms of
Timestamp, Duration, FieldMask and the wrapper types. The table of accepted names is built
once per route.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from symphony_gateway.errors import bad_request

Converter = Callable[[str], Any]

_MAX_DEPTH = 6
_INT_TYPES = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}
_WRAPPERS = {
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
}
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


def message_type_of(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field (the stubs type it Optional)."""
    assert field.message_type is not None
    return field.message_type


def enum_type_of(field: FieldDescriptor) -> EnumDescriptor:
    assert field.enum_type is not None
    return field.enum_type


def _to_bool(raw: str) -> bool:
    try:
        return _BOOLS[raw.lower()]
    except KeyError:
        raise ValueError(raw) from None


def _to_bytes(raw: str) -> bytes:
    padded = raw + "=" * (-len(raw) % 4)
    try:
        if "-" in raw or "_" in raw:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(raw) from None


def _to_float(raw: str) -> float:
    if raw in ("NaN", "Infinity", "-Infinity"):
        return float(raw.replace("Infinity", "inf"))
    value = float(raw)
    if raw.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity", "+inf"):
        raise ValueError(raw)
    return value


def _enum_converter(enum: EnumDescriptor) -> Converter:
    by_name = {value.name: value.number for value in enum.values}
    numbers = set(by_name.values())

    def convert(raw: str) -> int:
        number = by_name.get(raw)
        if number is not None:
            return number
        number = int(raw)  # ValueError for an unknown name
        if number not in numbers:
            raise ValueError(raw)
        return number

    return convert


def _json_string_wkt(cls: type) -> Converter:
    def convert(raw: str) -> Any:
        message = cls()
        try:
            message.FromJsonString(raw)
        except Exception:  # the WKT parsers raise several types for malformed text
            raise ValueError(raw) from None
        return message

    return convert


def _scalar_converter(field: FieldDescriptor) -> Converter | None:
    kind = field.type
    if kind in (FieldDescriptor.TYPE_STRING,):
        return str
    if kind in _INT_TYPES:
        return int
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return _to_float
    if kind == FieldDescriptor.TYPE_BOOL:
        return _to_bool
    if kind == FieldDescriptor.TYPE_BYTES:
        return _to_bytes
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum_converter(enum_type_of(field))
    return None


def leaf_converter(field: FieldDescriptor) -> tuple[Converter, bool] | None:
    """(converter, is_message) for a field settable from one string, else None."""
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        converter = _scalar_converter(field)
        return (converter, False) if converter else None
    name = message_type_of(field).full_name
    if name == "google.protobuf.Timestamp":
        return _json_string_wkt(timestamp_pb2.Timestamp), True
    if name == "google.protobuf.Duration":
        return _json_string_wkt(duration_pb2.Duration), True
    if name == "google.protobuf.FieldMask":
        return _json_string_wkt(field_mask_pb2.FieldMask), True
    if name in _WRAPPERS:
        from google.protobuf import message_factory

        cls = message_factory.GetMessageClass(message_type_of(field))
        inner = _scalar_converter(message_type_of(field).fields_by_name["value"])
        assert inner is not None

        def wrap(raw: str) -> Any:
            return cls(value=inner(raw))

        return wrap, True
    return None


def is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE and message_type_of(field).GetOptions().map_entry
    )


@dataclass(frozen=True, slots=True)
class FieldSetter:
    """Sets one (possibly nested) field from strings."""

    name: str  # canonical dotted proto name, for messages
    json_name: str  # dotted JSON name
    path: tuple[str, ...]  # attribute names to the parent message
    attr: str
    convert: Converter
    repeated: bool
    is_message: bool

    def set(self, message: Any, raw: str, given: str | None = None) -> None:
        """Set from one string; a 400 names the field as the client spelled it (`given`)."""
        name = given or self.name
        target = message
        for attr in self.path:
            target = getattr(target, attr)
        try:
            value = self.convert(raw)
        except (ValueError, TypeError, OverflowError):
            raise bad_request(f"Invalid value for field '{name}'.", name) from None
        try:
            if self.repeated:
                getattr(target, self.attr).append(value)
            elif self.is_message:
                getattr(target, self.attr).CopyFrom(value)
            else:
                setattr(target, self.attr, value)
        except (ValueError, TypeError, OverflowError):  # out of range for the field's type
            raise bad_request(f"Invalid value for field '{name}'.", name) from None


def setter_for_path(descriptor: Descriptor, dotted: str) -> FieldSetter:
    """The setter of a path variable's field (`nested.name`); raises ValueError if unusable."""
    names = dotted.split(".")
    message = descriptor
    attrs: list[str] = []
    for name in names[:-1]:
        field = message.fields_by_name.get(name)
        if field is None or field.type != FieldDescriptor.TYPE_MESSAGE or field.is_repeated:
            raise ValueError(f"{descriptor.full_name} has no message field {name!r}")
        attrs.append(name)
        message = message_type_of(field)
    leaf = message.fields_by_name.get(names[-1])
    if leaf is None:
        raise ValueError(f"{descriptor.full_name} has no field {dotted!r}")
    found = leaf_converter(leaf)
    if found is None or leaf.is_repeated:
        raise ValueError(f"field {dotted!r} cannot be bound to a path variable")
    convert, is_message = found
    return FieldSetter(dotted, dotted, tuple(attrs), names[-1], convert, False, is_message)


class QueryParser:
    """Accepted query parameters of one route."""

    __slots__ = ("allowed", "setters")

    def __init__(self, descriptor: Descriptor, excluded: Iterable[str], *, allowed: bool = True):
        self.allowed = allowed
        self.setters: dict[str, FieldSetter] = {}
        if allowed:
            self._walk(descriptor, (), (), frozenset(excluded), (descriptor.full_name,))

    def _walk(
        self,
        message: Descriptor,
        proto_path: tuple[str, ...],
        json_path: tuple[str, ...],
        excluded: frozenset[str],
        seen: tuple[str, ...],
    ) -> None:
        for field in message.fields:
            names = (*proto_path, field.name)
            dotted = ".".join(names)
            if dotted in excluded:
                continue
            jsons = (*json_path, field.json_name)
            if is_map(field):
                continue
            found = leaf_converter(field)
            if found is not None:
                convert, is_message = found
                setter = FieldSetter(
                    dotted,
                    ".".join(jsons),
                    proto_path,
                    field.name,
                    convert,
                    field.is_repeated,
                    is_message,
                )
                self.setters[dotted] = setter
                self.setters[".".join(jsons)] = setter
            elif (
                field.type == FieldDescriptor.TYPE_MESSAGE
                and not field.is_repeated
                and len(names) < _MAX_DEPTH
                and message_type_of(field).full_name not in seen
                and not message_type_of(field).full_name.startswith("google.protobuf.")
            ):
                self._walk(
                    message_type_of(field),
                    names,
                    jsons,
                    excluded,
                    (*seen, message_type_of(field).full_name),
                )

    def apply(self, message: Any, query_string: bytes | str) -> None:
        """Set the fields named in a query string; 400 on unknown names or bad values."""
        if not query_string:
            return
        if isinstance(query_string, bytes):
            query_string = query_string.decode("latin-1")
        try:
            pairs = parse_qsl(query_string, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise bad_request("The query string is not valid UTF-8.") from None
        if pairs and not self.allowed:
            raise bad_request(
                f"Query parameter '{pairs[0][0]}' is not allowed: this route takes its fields "
                "from the body.",
                pairs[0][0],
            )
        given: set[str] = set()
        for key, value in pairs:
            setter = self.setters.get(key)
            if setter is None:
                raise bad_request(f"Unknown query parameter '{key}'.", key, "UNKNOWN_FIELD")
            if not setter.repeated:
                if setter.name in given:
                    raise bad_request(
                        f"Query parameter '{key}' is given more than once.", setter.name
                    )
                given.add(setter.name)
            setter.set(message, value, key)
