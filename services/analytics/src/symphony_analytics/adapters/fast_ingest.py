"""The fast path of BatchIngestEvents: the request's bytes straight to the parameters that store
them (`db/staging.py`), in C (`_fastingest.c`), for a batch in which every event is valid.
Anything else answers None and the service takes its Python path, which gives every rejection
its reason."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from symphony_analytics.domain import catalogue
from symphony_analytics.domain.models import EncodedBatch, EventSchema, PropertyType

try:
    from symphony_analytics import _fastingest  # type: ignore[attr-defined]
except ImportError:  # not built (`make install` builds it): the Python path serves alone
    _fastingest = None

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KINDS = {
    PropertyType.STRING: 0,
    PropertyType.ENUM: 1,
    PropertyType.INT: 2,
    PropertyType.DOUBLE: 3,
    PropertyType.BOOL: 4,
    PropertyType.VERSION: 5,
    PropertyType.EXTENSION_ID: 6,
}


def _microseconds(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def plan(schema: EventSchema) -> tuple[Any, ...]:
    """What `_fastingest.encode` checks events against: the same rules as
    `catalogue.EventValidator`, as tables (see the C file's header)."""
    matchers = {
        PropertyType.VERSION: catalogue.SEMVER.fullmatch,
        PropertyType.EXTENSION_ID: catalogue.EXTENSION_ID.fullmatch,
    }
    events = {}
    for event in schema.events:
        properties = {
            p.name: (
                _KINDS[p.type],
                p.max_length,
                re.compile(p.pattern).fullmatch
                if p.type == PropertyType.STRING
                else matchers.get(p.type),
                frozenset(p.allowed_values),
                p.min_value,
                p.max_value,
                p.type == PropertyType.EXTENSION_ID,
            )
            for p in event.properties
        }
        events[event.name] = (properties, tuple(p.name for p in event.properties if p.required))
    limits = schema.limits
    return (
        events,
        frozenset(catalogue.PLATFORMS),
        catalogue.editor_version_ok,
        limits.max_batch_events,
        limits.max_batch_bytes,
        limits.max_event_bytes,
        _microseconds(limits.max_event_age),
        _microseconds(limits.max_clock_skew),
        {},  # what each (pure) check accepted, remembered across batches by the C code
    )


def native_encoder(enabled: bool) -> NativeBatchEncoder | None:
    """The fast path when it is wanted and built (a warning when it is wanted but not)."""
    if enabled and _fastingest is None:
        log.warning("the native ingest path is not built (make install builds it); using Python")
    return NativeBatchEncoder() if enabled and _fastingest is not None else None


class NativeBatchEncoder:
    """`BatchEncoder` over `_fastingest`; one plan per schema, built on first use."""

    def __init__(self) -> None:
        self._plans: dict[int, tuple[EventSchema, tuple[Any, ...]]] = {}

    def __call__(
        self, raw: bytes, schema: EventSchema, receive_time: datetime
    ) -> EncodedBatch | None:
        assert _fastingest is not None  # see native_encoder
        entry = self._plans.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = self._plans[id(schema)] = (schema, plan(schema))
        receive_us = _microseconds(receive_time - _EPOCH)
        encoded = _fastingest.encode(raw, entry[1], receive_us, schema.version)
        if encoded is None:
            return None
        staged, count, installs, first_us, last_us = encoded
        return EncodedBatch(
            staged=staged,
            count=count,
            encoded_size=len(raw),
            installs=installs,
            first_event_time=_EPOCH + timedelta(microseconds=first_us),
            last_event_time=_EPOCH + timedelta(microseconds=last_us),
        )
