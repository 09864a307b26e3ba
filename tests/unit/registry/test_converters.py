"""The conversion memo behind cached GetExtension answers."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from symphony_registry.api.converters import Memo


@dataclass
class Record:
    value: str


def test_a_record_is_converted_once_while_it_lives_and_a_new_record_afresh() -> None:
    calls: list[str] = []

    def convert(record: Record) -> list[str]:
        calls.append(record.value)
        return [record.value]

    memo = Memo(convert)
    first = Record("v1")
    assert memo(first) is memo(first)
    assert calls == ["v1"]
    # An equal but distinct record (a cache refill, a newer copy) is not taken for the old one.
    assert memo(Record("v1")) == ["v1"]
    assert calls == ["v1", "v1"]
    changed = Record("v2")
    assert memo(changed) == ["v2"]
    del first, changed
    gc.collect()
    assert memo._messages == {}  # a message goes with its record
