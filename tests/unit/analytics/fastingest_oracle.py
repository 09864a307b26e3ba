"""What the Python ingest path makes of a serialized BatchIngestEventsRequest, for comparing the
native fast path (`adapters/fast_ingest.py`) with it: the unit test and the IN-4 harness."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.protobuf.message import DecodeError

from symphony.analytics.v1 import analytics_service_pb2 as spb
from symphony_analytics.api import converters as conv
from symphony_analytics.db.staging import stage
from symphony_analytics.domain.catalogue import EventValidator
from symphony_analytics.domain.models import EncodedBatch, EventSchema, Rejection
from symphony_common.errors import InvalidArgument


@dataclass
class PythonPath:
    """`batch` when the Python path stores every event of the request; else why not."""

    batch: EncodedBatch | None
    why: str


def python_path(raw: bytes, schema: EventSchema, receive_time: datetime) -> PythonPath:
    try:
        request = spb.BatchIngestEventsRequest.FromString(raw)
        message = conv.ingest_message(request)
    except (DecodeError, InvalidArgument) as error:
        return PythonPath(None, f"refused whole: {error}")
    limits = schema.limits
    if not message.events or (
        len(message.events) > limits.max_batch_events
        or message.encoded_size > limits.max_batch_bytes
    ):
        return PythonPath(None, "refused whole: batch limits")
    skew = receive_time - message.sent_time if message.sent_time else timedelta(0)
    validate = EventValidator(schema, receive_time, skew)
    stored = [validate(event, i) for i, event in enumerate(message.events)]
    if any(isinstance(s, Rejection) for s in stored):
        return PythonPath(None, "some events rejected")
    ids = [s.event_id for s in stored]  # type: ignore[union-attr]
    if len(set(ids)) != len(ids):
        return PythonPath(None, "an id twice in the batch")
    valid = [s for s in stored if not isinstance(s, Rejection)]
    times = [s.event_time for s in valid]
    return PythonPath(
        EncodedBatch(
            staged=tuple(stage(valid)),
            count=len(valid),
            encoded_size=len(raw),
            installs=dict(Counter(s.install_id for s in valid)),
            first_event_time=min(times),
            last_event_time=max(times),
        ),
        "stored",
    )


def agrees(fast: EncodedBatch | None, slow: PythonPath) -> str:
    """ "" when the fast path's answer is one the Python path allows: nothing (it defers), or
    exactly the batch the Python path would store. Else what differs."""
    if fast is None:
        return ""
    if slow.batch is None:
        return f"the fast path stored a batch the Python path does not ({slow.why})"
    if fast != slow.batch:
        return f"different batches:\nfast {fast}\nslow {slow.batch}"
    return ""
