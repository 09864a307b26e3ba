"""Range checks of the well-known types in a decoded request.

Protobuf accepts any `Timestamp` or `Duration` on the wire, but the proto spec bounds them
(years 0001–9999; ±10,000 years; nanos within one second, signed like the seconds) and Python's
conversions raise on anything outside. Checking once here, for every RPC, turns such input into
INVALID_ARGUMENT naming the field instead of a crash deep in a handler.
"""

from __future__ import annotations

from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from symphony_common.errors import invalid_field

TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_799  # 0001-01-01 … 9999-12-31
MAX_DURATION_SECONDS = 315_576_000_000
NANOS = 1_000_000_000


@cache
def _plan(descriptor: Descriptor) -> tuple[FieldDescriptor, ...]:
    """The message fields of `descriptor` that are, or may contain, a Timestamp or Duration."""
    return tuple(
        field
        for field in descriptor.fields
        if field.message_type is not None and _reaches(field.message_type, frozenset())
    )


def _reaches(descriptor: Descriptor, seen: frozenset[str]) -> bool:
    if descriptor.full_name in (TIMESTAMP, DURATION):
        return True
    if descriptor.full_name in seen:
        return False
    seen = seen | {descriptor.full_name}
    return any(
        f.message_type is not None and _reaches(f.message_type, seen) for f in descriptor.fields
    )


def check_value(message: Message, path: str) -> None:
    """Raise InvalidArgument naming `path` when `message` is, or holds, an out-of-range
    Timestamp or Duration."""
    name = message.DESCRIPTOR.full_name
    if name == TIMESTAMP:
        seconds, nanos = message.seconds, message.nanos  # type: ignore[attr-defined]
        if not (MIN_SECONDS <= seconds <= MAX_SECONDS and 0 <= nanos < NANOS):
            raise invalid_field(
                path, "is not a valid timestamp (years 0001-9999)", "INVALID_TIMESTAMP"
            )
    elif name == DURATION:
        seconds, nanos = message.seconds, message.nanos  # type: ignore[attr-defined]
        if (
            abs(seconds) > MAX_DURATION_SECONDS
            or abs(nanos) >= NANOS
            or (seconds > 0 > nanos)
            or (seconds < 0 < nanos)
        ):
            raise invalid_field(path, "is not a valid duration", "INVALID_DURATION")
    else:
        check(message, f"{path}.")


def check(message: Message, prefix: str = "") -> None:
    """Raise InvalidArgument for the first out-of-range Timestamp or Duration in `message`."""
    for field in _plan(message.DESCRIPTOR):
        path = f"{prefix}{field.name}"
        if field.is_repeated:
            values = getattr(message, field.name)
            entry = field.message_type
            if entry is not None and entry.GetOptions().map_entry:
                if entry.fields_by_name["value"].message_type is not None:
                    for key, value in values.items():
                        check_value(value, f"{path}[{key}]")
                continue
            for index, value in enumerate(values):
                check_value(value, f"{path}[{index}]")
        elif message.HasField(field.name):
            check_value(getattr(message, field.name), path)
