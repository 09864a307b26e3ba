"""Hypothesis strategies built from protobuf descriptors alone, so any message of any RPC
(including RPCs added later) gets valid-shape requests (IN-1) and corrupted wire bytes (IN-2).

Valid shape means "parses as the request type": every field may be missing, strings and bytes
come at the boundary sizes (0, 1, 4096, 1 MiB), integers at their extremes and negative, enums
with numbers the schema does not define, repeated fields and maps empty, short or huge, and
messages nested down to a depth limit. Large values are drawn from a few prebuilt constants
(`sampled_from`) so Hypothesis' choice sequence stays small and shrinking stays cheap.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Iterable
from typing import Any

from google.api import resource_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

MAX_DEPTH = 3
LARGE = 1 << 20  # 1 MiB: the largest boundary string/bytes (the servers accept 4 MiB messages)
HUGE_COUNTS = (1_000, 10_000)
# Whole-request budget for huge repeated fields/maps, so a message stays near the 4 MiB limit
# (beyond it the server answers RESOURCE_EXHAUSTED before any handler runs).
HUGE_BYTES = 3 << 20

# Texts that leak internals when they show up in a response; generated inputs never contain
# them, so an echo of the input cannot be mistaken for a leak.
LEAK_MARKERS = re.compile(
    r"Traceback|File \"|\.py\b|SELECT |INSERT |UPDATE |DELETE FROM|psycopg|sqlalchemy|asyncpg"
    r"|symp_|eyJ|Exception:|Error:|\bat 0x[0-9a-f]+",
    re.IGNORECASE,
)

T = FieldDescriptor

BOUNDARY_STRINGS = ("", "a", "a" * 4096, "é" * 4096, "a" * LARGE)
INTERESTING_STRINGS = (
    " ",
    "\x00",
    "a\x00b",
    "\t\n\r",
    "-",
    "*",
    "~",
    ".",
    "..",
    "../../etc/passwd",
    "%",
    "%00",
    "%s%s%s%n",
    "{0}{1}",
    "'",
    '"',
    "\\",
    "' OR '1'='1",
    "'; --",
    "$1",
    "?",
    ":",
    "users/",
    "users/me",
    "users/-",
    "users//x",
    "/",
    "//",
    "a/b/c/d/e/f/g",
    "0",
    "-1",
    "18446744073709551616",
    "1e309",
    "NaN",
    "true",
    "null",
    "{}",
    "[]",
    '{"a":',
    "<script>",
    "\u202e\u0301",
    "\ufeff",
    "\U0001f600" * 64,
    "ß",
    "İ",
    "ﬃ",
    "x" * 63,
    "x" * 64,
    "x" * 65,
    "x" * 255,
    "x" * 256,
    "x" * 4097,
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0000-00-00",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "1.0.0",
    "0.0.0-",
    "999999999999999999999.0.0",
    "a@b",
    "@",
    "a" * 64 + "@" + "b" * 250 + ".dev",
    "user@example.com",
    "https://example.com/",
    "javascript:alert(1)",
)
BOUNDARY_BYTES = (b"", b"\x00", b"\xff" * 4096, b"PK\x03\x04" + b"\x00" * 26, b"\x00" * LARGE)
SEGMENTS = (
    "a",
    "x",
    "-",
    "me",
    "0",
    "ns-1",
    "A",
    "é",
    "",
    "a.b",
    "a..b",
    "_",
    "x" * 300,
    "%2F",
    "00000000-0000-0000-0000-000000000000",
)

_INT_RANGES = {
    T.TYPE_INT32: (-(2**31), 2**31 - 1),
    T.TYPE_SINT32: (-(2**31), 2**31 - 1),
    T.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    T.TYPE_INT64: (-(2**63), 2**63 - 1),
    T.TYPE_SINT64: (-(2**63), 2**63 - 1),
    T.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    T.TYPE_UINT32: (0, 2**32 - 1),
    T.TYPE_FIXED32: (0, 2**32 - 1),
    T.TYPE_UINT64: (0, 2**64 - 1),
    T.TYPE_FIXED64: (0, 2**64 - 1),
}


def message_class(descriptor: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


def _clean_text(value: str) -> bool:
    return not LEAK_MARKERS.search(value)


def _weighted(*branches: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """`one_of` with integer weights (Hypothesis has none built in)."""
    expanded: list[st.SearchStrategy[Any]] = []
    for weight, strategy in branches:
        expanded.extend([strategy] * weight)
    return st.one_of(expanded)


def ints(field_type: int) -> st.SearchStrategy[int]:
    lo, hi = _INT_RANGES[field_type]
    edges = sorted(
        {
            v
            for v in (
                lo,
                lo + 1,
                -1,
                0,
                1,
                2,
                100,
                1000,
                10**6,
                2**31 - 1,
                2**31,
                2**32 - 1,
                2**53 + 1,
                hi - 1,
                hi,
            )
            if lo <= v <= hi
        }
    )
    return _weighted(
        (2, st.sampled_from(edges)),
        (2, st.integers(max(lo, -1000), min(hi, 1000))),
        (1, st.integers(lo, hi)),
    )


def floats(field_type: int) -> st.SearchStrategy[float]:
    width = 32 if field_type == T.TYPE_FLOAT else 64
    return st.one_of(
        st.sampled_from(
            (
                0.0,
                -0.0,
                1.0,
                -1.0,
                0.5,
                1e-300,
                1e300,
                float("inf"),
                float("-inf"),
                float("nan"),
                2.0**63,
                -(2.0**63),
            )
        ),
        st.floats(width=width),
    )


@functools.cache
def resource_patterns() -> tuple[str, ...]:
    """Every `google.api.resource` pattern of the loaded symphony protos."""
    from tests.fuzz.harness import discover_rpcs  # local: avoid an import cycle

    patterns: set[str] = set()
    seen: set[str] = set()

    def visit(descriptor: Descriptor) -> None:
        if descriptor.full_name in seen:
            return
        seen.add(descriptor.full_name)
        options = descriptor.GetOptions()
        if options.HasExtension(resource_pb2.resource):
            patterns.update(options.Extensions[resource_pb2.resource].pattern)
        for field in descriptor.fields:
            if field.message_type is not None:
                visit(field.message_type)

    for rpc in discover_rpcs():
        visit(rpc.input_descriptor)
        visit(rpc.output_descriptor)
    return tuple(sorted(patterns))


def resource_names() -> st.SearchStrategy[str]:
    patterns = resource_patterns()
    if not patterns:
        return st.sampled_from(INTERESTING_STRINGS)
    segment = st.one_of(
        st.sampled_from(SEGMENTS), st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
    )

    def fill(pattern: str) -> st.SearchStrategy[str]:
        parts = re.split(r"(\{[^}]+\})", pattern)
        pieces = [segment if p.startswith("{") else st.just(p) for p in parts if p]
        return st.tuples(*pieces).map("".join)

    return st.sampled_from(patterns).flatmap(fill)


@functools.cache
def field_name_vocabulary() -> tuple[str, ...]:
    """Field paths seen in the request/response types: realistic FieldMask paths."""
    from tests.fuzz.harness import discover_rpcs

    names: set[str] = set()
    for rpc in discover_rpcs():
        for descriptor in (rpc.input_descriptor, rpc.output_descriptor):
            for field in descriptor.fields:
                names.add(field.name)
                if field.message_type is not None:
                    names.update(f"{field.name}.{sub.name}" for sub in field.message_type.fields)
    return tuple(sorted(names))


def strings(small: bool) -> st.SearchStrategy[str]:
    text = st.text(st.characters(codec="utf-8"), max_size=16 if small else 64).filter(_clean_text)
    uuids = st.uuids().map(str)
    if small:
        return _weighted((2, text), (1, st.sampled_from(INTERESTING_STRINGS[:40])), (1, uuids))
    return _weighted(
        (3, text),
        (2, st.sampled_from(INTERESTING_STRINGS)),
        (1, st.sampled_from(BOUNDARY_STRINGS)),
        (2, resource_names()),
        (1, uuids),
    )


def binaries(small: bool) -> st.SearchStrategy[bytes]:
    if small:
        return st.binary(max_size=16)
    return _weighted((3, st.binary(max_size=64)), (1, st.sampled_from(BOUNDARY_BYTES)))


def enums(descriptor: EnumDescriptor) -> st.SearchStrategy[int]:
    defined = sorted({v.number for v in descriptor.values})
    undefined = sorted({max(defined) + 1, 99, -1, 2**31 - 1, -(2**31)} - set(defined))
    return _weighted((3, st.sampled_from(defined)), (1, st.sampled_from(undefined)))


def _approx_size(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value) + 2
    if isinstance(value, Message):
        return value.ByteSize() + 2
    return 9


def _huge_list(element: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    def expand(pair: tuple[Any, int]) -> list[Any]:
        value, count = pair
        return [value] * max(1, min(count, HUGE_BYTES // _approx_size(value)))

    return st.tuples(element, st.sampled_from(HUGE_COUNTS)).map(expand)


def scalar(field: FieldDescriptor, small: bool) -> st.SearchStrategy[Any]:
    t = field.type
    if t in _INT_RANGES:
        return ints(t)
    if t in (T.TYPE_FLOAT, T.TYPE_DOUBLE):
        return floats(t)
    if t == T.TYPE_BOOL:
        return st.booleans()
    if t == T.TYPE_STRING:
        return strings(small)
    if t == T.TYPE_BYTES:
        return binaries(small)
    if t == T.TYPE_ENUM:
        return enums(field.enum_type)
    raise TypeError(f"unexpected field type {t} of {field.full_name}")


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.is_repeated
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )


def _map_keys(key: FieldDescriptor, count: int) -> list[Any]:
    if key.type == T.TYPE_STRING:
        return [f"k{i}" for i in range(count)]
    if key.type == T.TYPE_BOOL:
        return [False, True][:count]
    return list(range(count))


def field_values(field: FieldDescriptor, depth: int, small: bool) -> st.SearchStrategy[Any] | None:
    """What one field may hold; None when it is left out at this depth."""
    if _is_map(field):
        entry = field.message_type
        key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
        value = single_value(value_field, depth + 1, small=True)
        if value is None:
            return None
        key = scalar(key_field, small=True)
        short = st.dictionaries(key, value, max_size=3)
        if small:
            return short

        def huge(pair: tuple[Any, int]) -> dict[Any, Any]:
            item, count = pair
            count = max(1, min(count, HUGE_BYTES // (_approx_size(item) + 12)))
            return dict.fromkeys(_map_keys(key_field, count), item)

        return _weighted((4, short), (1, st.tuples(value, st.sampled_from(HUGE_COUNTS)).map(huge)))
    element = single_value(field, depth, small)
    if element is None:
        return None
    if not field.is_repeated:
        return element
    short = st.lists(element, max_size=3)
    if small:
        return short
    tiny = single_value(field, max(depth, MAX_DEPTH), small=True)
    if tiny is None:
        return short
    return _weighted((4, short), (1, _huge_list(tiny)))


def single_value(field: FieldDescriptor, depth: int, small: bool) -> st.SearchStrategy[Any] | None:
    if field.message_type is None:
        return scalar(field, small)
    if depth >= MAX_DEPTH:
        return None
    return messages(field.message_type, depth + 1, small)


def _special(descriptor: Descriptor, depth: int) -> st.SearchStrategy[Message] | None:
    """Well-known types whose meaning lives in their values."""
    cls = message_class(descriptor)
    name = descriptor.full_name
    if name == "google.protobuf.FieldMask":
        paths = st.one_of(
            st.sampled_from(field_name_vocabulary() or ("name",)), strings(small=True)
        )
        return st.lists(paths, max_size=4).map(lambda ps: cls(paths=ps))
    if name == "google.protobuf.Timestamp":
        seconds = st.one_of(
            st.sampled_from(
                (
                    0,
                    -1,
                    1,
                    1_700_000_000,
                    -62135596800,
                    253402300799,
                    -62135596801,
                    253402300800,
                    2**63 - 1,
                    -(2**63),
                )
            ),
            st.integers(0, 4_102_444_800),
        )
        nanos = st.sampled_from((0, 1, 999_999_999, 1_000_000_000, -1, 2**31 - 1))
        return st.builds(cls, seconds=seconds, nanos=nanos)
    if name == "google.protobuf.Duration":
        seconds = st.one_of(
            st.sampled_from((0, 1, -1, 60, 315_576_000_000, 315_576_000_001, 2**63 - 1, -(2**63))),
            st.integers(-86_400, 86_400 * 400),
        )
        nanos = st.sampled_from((0, 1, 999_999_999, -999_999_999, 1_000_000_000, -1))
        return st.builds(cls, seconds=seconds, nanos=nanos)
    return None


@functools.cache
def messages(
    descriptor: Descriptor, depth: int = 0, small: bool = False
) -> st.SearchStrategy[Message]:
    """A message of `descriptor`'s type with any subset of its fields set."""
    special = _special(descriptor, depth)
    if special is not None:
        return special
    cls = message_class(descriptor)
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        values = field_values(field, depth, small)
        if values is not None:
            optional[field.name] = values

    def build(values: dict[str, Any]) -> Message:
        return assemble(cls, values)

    return st.fixed_dictionaries({}, optional=optional).map(build)


def assemble(cls: type[Message], values: dict[str, Any]) -> Message:
    message = cls()
    fields = message.DESCRIPTOR.fields_by_name
    for name, value in values.items():
        field = fields[name]
        try:
            if _is_map(field):
                container = getattr(message, name)
                value_is_message = (
                    field.message_type.fields_by_name["value"].message_type is not None
                )
                for key, item in value.items():
                    if value_is_message:
                        container[key].CopyFrom(item)
                    else:
                        container[key] = item
            elif field.is_repeated:
                getattr(message, name).extend(value)
            elif field.message_type is not None:
                getattr(message, name).CopyFrom(value)
            else:
                setattr(message, name, value)
        except (ValueError, TypeError):
            # A value this runtime refuses to hold (e.g. a float32 overflow) cannot be sent
            # either; leave the field out.
            message.ClearField(name)
    return message


# ---------------------------------------------------------------------------------------------
# Wire-level corruption (IN-2)


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint((number << 3) | wire_type)


def _wire_junk(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Well-formed-looking fields that the schema does not expect: overflowing varints, wrong
    wire types, invalid UTF-8 in strings, lengths beyond the end, groups, unknown numbers."""
    numbers = sorted({f.number for f in descriptor.fields} | {1, 2, 15, 16, 2047, 536_870_911})
    number = st.sampled_from(numbers)
    string_numbers = [f.number for f in descriptor.fields if f.type == T.TYPE_STRING]
    overflow = st.sampled_from((2**64 - 1, 2**63, 2**32, 2**31, 2**32 - 1))
    junk = [
        st.tuples(number, overflow).map(lambda p: tag(p[0], 0) + varint(p[1])),
        number.map(lambda n: tag(n, 0) + b"\xff" * 10 + b"\x01"),  # 11-byte varint
        number.map(lambda n: tag(n, 0) + b"\x80\x80\x80"),  # varint cut off
        st.tuples(number, st.binary(max_size=8)).map(lambda p: tag(p[0], 1) + p[1]),
        st.tuples(number, st.binary(max_size=4)).map(lambda p: tag(p[0], 5) + p[1]),
        st.tuples(number, st.integers(0, 2**32)).map(
            lambda p: tag(p[0], 2) + varint(p[1]) + b"abc"
        ),
        number.map(lambda n: tag(n, 3)),  # start group, never ended
        number.map(lambda n: tag(n, 4)),  # end group, never started
        st.tuples(number, st.sampled_from((6, 7))).map(lambda p: tag(p[0], p[1])),
        st.just(b"\x00"),  # field number 0
        st.tuples(number, st.binary(max_size=32)).map(
            lambda p: tag(p[0], 2) + varint(len(p[1])) + p[1]
        ),
        # Packed repeated with a ragged tail.
        number.map(lambda n: tag(n, 2) + varint(5) + struct.pack("<I", 7) + b"\x80"),
    ]
    if string_numbers:
        bad_utf8 = st.sampled_from((b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"a\xf8b", b"\xe2\x82"))
        junk.append(
            st.tuples(st.sampled_from(string_numbers), bad_utf8).map(
                lambda p: tag(p[0], 2) + varint(len(p[1])) + p[1]
            )
        )
    return st.one_of(junk)


def _flip(data: bytes, positions: Iterable[int]) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for bit in positions:
        bit %= len(out) * 8
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def raw_requests(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Bytes that claim to be a `descriptor` message: random, bit-flipped, cut, spliced with
    junk fields."""
    valid = messages(descriptor, 0, True).map(lambda m: m.SerializeToString())
    bigger = messages(descriptor, 0, False).map(lambda m: m.SerializeToString())
    junk = _wire_junk(descriptor)
    mutate: list[st.SearchStrategy[bytes]] = [
        st.binary(max_size=256),
        st.tuples(valid, st.lists(st.integers(0, 2**20), min_size=1, max_size=8)).map(
            lambda p: _flip(p[0], p[1])
        ),
        st.tuples(valid, st.integers(0, 2**16)).map(lambda p: p[0][: p[1] % (len(p[0]) + 1)]),
        st.tuples(valid, junk).map(lambda p: p[0] + p[1]),
        st.tuples(junk, valid).map(lambda p: p[0] + p[1]),
        st.lists(junk, min_size=1, max_size=4).map(b"".join),
        st.tuples(valid, st.binary(min_size=1, max_size=16), st.integers(0, 2**16)).map(
            lambda p: p[0][: p[2] % (len(p[0]) + 1)] + p[1] + p[0][p[2] % (len(p[0]) + 1) :]
        ),
    ]
    return _weighted((8, st.one_of(mutate)), (1, bigger))


def parses(cls: type[Message], data: bytes) -> bool:
    try:
        cls.FromString(data)
    except Exception:  # DecodeError, RecursionError, ...: anything the server's parse would hit
        return False
    return True
