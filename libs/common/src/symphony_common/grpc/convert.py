"""Small conversions between domain values and generated messages, shared by the services'
api/converters modules."""

from __future__ import annotations

from typing import TypeVar, cast

E = TypeVar("E")


def proto_enum(kind: type[E], value: int) -> E:
    """A domain IntEnum as the proto enum its message field expects. The numbers are the same
    by design; the generated stubs type enum fields by the enum class, which ints are not."""
    return cast(E, int(value))
