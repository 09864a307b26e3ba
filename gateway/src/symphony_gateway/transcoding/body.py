"""Request bodies (`body: "*"`, `body: "field"`, none) and responses, in the proto3 JSON mapping.

Unknown fields and wrong types are rejected (400 naming the field). A PATCH whose request has
an `update_mask` that the client left empty gets one derived from the body's keys, as AIP-134
asks of gateways.
"""

from __future__ import annotations

import json
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from symphony_gateway.errors import bad_request
from symphony_gateway.transcoding.query import is_map, message_type_of

# json_format nests "Failed to parse <key> field: " once per level and ends unknown-field
# errors with 'has no field named "<key>"'; the keys are the client's own.
_FAILED_AT = re.compile(r"Failed to parse (\S+) field: ")
_NO_FIELD = re.compile(r'has no field named "([^"]+)"')
_INVALID_ENUM = re.compile(r"Invalid enum value")


def _field_of_error(text: str, prefix: tuple[str, ...]) -> tuple[str, bool]:
    """(dotted field path, is_unknown) recovered from a json_format error."""
    parts = list(prefix) + _FAILED_AT.findall(text)
    unknown = _NO_FIELD.search(text)
    if unknown:
        parts.append(unknown.group(1))
    return ".".join(parts), unknown is not None


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body; 400 with the position on malformed JSON."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise bad_request("The request body is not valid UTF-8.", reason="MALFORMED_JSON") from None
    except json.JSONDecodeError as exc:
        raise bad_request(
            f"Malformed JSON body at line {exc.lineno} column {exc.colno}: {exc.msg}.",
            reason="MALFORMED_JSON",
        ) from None


def _bool_for_enum(obj: dict[str, Any], descriptor: Descriptor, prefix: str) -> str:
    """The path of the first enum field given `true`/`false`, or "". json_format takes a JSON
    bool for an enum as the number 0 or 1 (Python's bool is an int); the JSON mapping does
    not (IN-3 sent {"trigger": true} and got a snapshot)."""
    for key, value in obj.items():
        field = descriptor.fields_by_camelcase_name.get(key) or descriptor.fields_by_name.get(key)
        if field is None:
            continue  # json_format names it
        path = prefix + key
        values = value if isinstance(value, list) else [value]
        if field.type == FieldDescriptor.TYPE_ENUM:
            if any(isinstance(v, bool) for v in values):
                return path
        elif field.type == FieldDescriptor.TYPE_MESSAGE and isinstance(value, dict | list):
            entry = message_type_of(field)
            if entry.full_name.startswith("google.protobuf."):
                continue  # well-known types have JSON forms of their own
            if is_map(field) and isinstance(value, dict):
                target = entry.fields_by_name["value"]
                if target.type == FieldDescriptor.TYPE_ENUM:
                    if any(isinstance(v, bool) for v in value.values()):
                        return path
                    continue
                if target.type != FieldDescriptor.TYPE_MESSAGE:
                    continue
                entry, values = message_type_of(target), list(value.values())
            for item in values:
                if isinstance(item, dict) and (found := _bool_for_enum(item, entry, path + ".")):
                    return found
    return ""


def parse_into(obj: Any, message: Message) -> None:
    """proto3 JSON → message, rejecting unknown fields and wrong types by name."""
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]
    if isinstance(obj, dict) and (field := _bool_for_enum(obj, descriptor, "")):
        raise bad_request(f"Invalid value for field '{field}'.", field)
    try:
        json_format.ParseDict(obj, message, ignore_unknown_fields=False)
    except (json_format.ParseError, ValueError, TypeError, OverflowError) as exc:
        field, unknown = _field_of_error(str(exc), ())
        if unknown:
            raise bad_request(f"Unknown field '{field}'.", field, "UNKNOWN_FIELD") from None
        if field:
            raise bad_request(f"Invalid value for field '{field}'.", field) from None
        raise bad_request("The request body does not match the request message.") from None


class BodyMapper:
    """How one route's body maps onto its request message."""

    __slots__ = ("field", "mask_target", "mode", "update_mask")

    def __init__(self, request: Descriptor, body: str, http_method: str) -> None:
        self.mode = body  # "", "*" or a field name
        self.field: FieldDescriptor | None = None
        mask_target: Descriptor | None = request
        if body and body != "*":
            field = request.fields_by_name.get(body)
            if field is None:
                raise ValueError(f"{request.full_name} has no body field {body!r}")
            self.field = field
            mask_target = (
                message_type_of(field)
                if field.type == FieldDescriptor.TYPE_MESSAGE
                and not field.is_repeated
                and not is_map(field)
                else None
            )
        mask = request.fields_by_name.get("update_mask")
        self.update_mask = (
            mask
            if http_method == "PATCH"
            and body
            and mask is not None
            and mask.type == FieldDescriptor.TYPE_MESSAGE
            and message_type_of(mask).full_name == "google.protobuf.FieldMask"
            and (self.field is None or self.field.name != "update_mask")
            else None
        )
        self.mask_target = mask_target

    def apply(self, message: Message, raw: bytes) -> Any:
        """Parse a body into a fresh request message. Returns the decoded JSON (or None)."""
        if not self.mode:
            return None
        # Only an absent body means "{}": whitespace alone is not JSON (IN-3 sent "\v" and
        # " \t\r\n" and expected 400).
        if not raw:
            return None
        obj = parse_json(raw)
        if self.field is None:
            if not isinstance(obj, dict):
                raise bad_request(
                    "The request body must be a JSON object.", reason="MALFORMED_JSON"
                )
            parse_into(obj, message)
        else:
            # Wrapping keeps json_format's errors prefixed with the body field's name.
            parse_into({self.field.json_name: obj}, message)
        return obj

    def derive_update_mask(self, message: Any, obj: Any) -> None:
        """Fill `update_mask` from the body's keys when the client gave none."""
        if self.update_mask is None or self.mask_target is None or not isinstance(obj, dict):
            return
        mask = message.update_mask
        if mask.paths:
            return
        paths: list[str] = []
        _collect_paths(obj, self.mask_target, "", paths, skip_top=self.field is None)
        mask.paths.extend(paths)


def _collect_paths(
    obj: dict[str, Any], descriptor: Descriptor, prefix: str, out: list[str], skip_top: bool
) -> None:
    for key, value in obj.items():
        field = descriptor.fields_by_camelcase_name.get(key) or descriptor.fields_by_name.get(key)
        if field is None:
            continue
        if skip_top and field.name == "update_mask":
            continue
        path = prefix + field.name
        if (
            isinstance(value, dict)
            and value
            and field.type == FieldDescriptor.TYPE_MESSAGE
            and not field.is_repeated
            and not is_map(field)
            and not message_type_of(field).full_name.startswith("google.protobuf.")
        ):
            _collect_paths(value, message_type_of(field), path + ".", out, False)
        else:
            out.append(path)


def to_json(message: Message) -> bytes:
    """Message → proto3 JSON bytes (JSON names, every field present)."""
    return json.dumps(
        json_format.MessageToDict(message, always_print_fields_with_no_presence=True),
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
