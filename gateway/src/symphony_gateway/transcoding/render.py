"""Fast proto3 JSON output, compiled per message type.

Equivalent to `json_format.MessageToDict(message, always_print_fields_with_no_presence=True)`
(JSON names; fields without presence always printed), which walks the descriptor on every
call and was half of the gateway's own time per request. Here the walk happens once per type:
a message becomes a copy of its precomputed defaults overlaid with `ListFields()`. Well-known
types (Timestamp, Struct, Any, wrappers, ...) keep json_format's own rendering.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal import type_checkers

from symphony_gateway.transcoding.query import enum_type_of, message_type_of

_F = FieldDescriptor
_INT64 = {_F.CPPTYPE_INT64, _F.CPPTYPE_UINT64}
Encoder = Callable[[Any], Any]
# Types whose JSON form is special (json_format's _WKTJSONMETHODS and the wrappers).
_SPECIAL = {
    f"google.protobuf.{name}"
    for name in (
        "Any",
        "Timestamp",
        "Duration",
        "FieldMask",
        "Struct",
        "Value",
        "ListValue",
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
        "StringValue",
        "BytesValue",
    )
}


def _wkt(message: Any) -> Any:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def _double(value: float) -> Any:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _float(value: float) -> Any:
    if math.isfinite(value):
        return type_checkers.ToShortestFloat(value)
    return _double(value)


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode()


class _Compiler:
    def __init__(self) -> None:
        self.cache: dict[str, Encoder] = {}

    def message(self, descriptor: Descriptor) -> Encoder:
        name = descriptor.full_name
        found = self.cache.get(name)
        if found is not None:
            return found
        if name in _SPECIAL:
            self.cache[name] = _wkt
            return _wkt
        # Placeholder first: recursive types resolve through the cache at call time.
        slot: list[Encoder] = []
        self.cache[name] = lambda message: slot[0](message)

        defaults: dict[str, Any] = {}
        converters: dict[int, tuple[str, Encoder | None]] = {}
        for field in descriptor.fields:
            converters[field.number] = (field.json_name, self.field(field))
            if field.has_presence:
                continue
            if field.is_repeated:
                defaults[field.json_name] = None  # a fresh {} or [] per call, see below
            else:
                single = self.single(field)
                value = field.default_value
                defaults[field.json_name] = single(value) if single else value
        empties = tuple((f.json_name, _is_map(f)) for f in descriptor.fields if f.is_repeated)

        def encode(message: Any) -> dict[str, Any]:
            out = defaults.copy()
            for key, is_map in empties:
                out[key] = {} if is_map else []
            for field, value in message.ListFields():
                entry = converters.get(field.number)
                if entry is None or field.is_extension:
                    return _wkt(message)  # extensions: rare; json_format knows their names
                key, convert = entry
                out[key] = convert(value) if convert is not None else value
            return out

        slot.append(encode)
        self.cache[name] = encode
        return encode

    def single(self, field: FieldDescriptor) -> Encoder | None:
        """Converter of one value of the field (None: the value is already JSON)."""
        cpp = field.cpp_type
        if cpp == _F.CPPTYPE_MESSAGE:
            return self.message(message_type_of(field))
        if cpp == _F.CPPTYPE_ENUM:
            if enum_type_of(field).full_name == "google.protobuf.NullValue":
                return lambda value: None
            names = {v.number: v.name for v in enum_type_of(field).values}
            return lambda value: names.get(value, value)
        if field.type == _F.TYPE_BYTES:
            return _bytes
        if cpp in _INT64:
            return str
        if cpp == _F.CPPTYPE_DOUBLE:
            return _double
        if cpp == _F.CPPTYPE_FLOAT:
            return _float
        return None

    def field(self, field: FieldDescriptor) -> Encoder | None:
        if _is_map(field):
            key_field = message_type_of(field).fields_by_name["key"]
            value = self.single(message_type_of(field).fields_by_name["value"])
            key_of: Callable[[Any], str] = _bool_key if key_field.type == _F.TYPE_BOOL else str
            if value is None:
                return lambda mapping: {key_of(k): v for k, v in mapping.items()}
            return lambda mapping: {key_of(k): value(v) for k, v in mapping.items()}
        single = self.single(field)
        if field.is_repeated:
            if single is None:
                return list
            return lambda values: [single(v) for v in values]
        return single


def _bool_key(key: Any) -> str:
    return "true" if key else "false"


def _is_map(field: FieldDescriptor) -> bool:
    return field.cpp_type == _F.CPPTYPE_MESSAGE and message_type_of(field).GetOptions().map_entry


_COMPILER = _Compiler()


def encoder_for(descriptor: Descriptor) -> Encoder:
    """The compiled encoder of a message type (cached; compile at start-up)."""
    return _COMPILER.message(descriptor)
