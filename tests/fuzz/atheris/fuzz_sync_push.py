"""IN-4 harness: how the sync service turns a client's Push bytes into domain records.

Input: a serialized `PushRequest`. The path the servicer and the domain take: decode, convert
each `Change` (`converters.change_from_proto`), fingerprint, `validate_request_id`,
`SyncService._validate_changes`; then, for a valid batch, the per-change decision
(`SyncService._decide`: apply, three-way merge of JSON objects, conflict) over an in-memory
server state, the response (`push_to_proto`, serialized) and the stored-result codec
(`to_json`/`from_json`). The server state comes from the batch itself: each item written with
its own value, then overwritten with the next change's value; then the batch as sent, so its
fuzzed base revisions meet a server value that differs and a base in the history (merges).
Expected: `DomainError` (what the interceptor maps to a status). Anything else is a crash; so is
a stored result that decodes differently. (Text PostgreSQL refuses, such as NUL in
`content_type`, is the interceptor's INVALID_VALUE, past this harness.)
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field, replace

import atheris
from in4_support import fuzz

with atheris.instrument_imports(include=["symphony_sync"]):
    from symphony.sync.v1 import sync_service_pb2
    from symphony_common.errors import DomainError
    from symphony_sync.api import converters
    from symphony_sync.domain.models import (
        DEFAULT_CONTENT_TYPE,
        ChangeResult,
        Item,
        Outcome,
        PushResult,
        from_json,
        to_json,
    )
    from symphony_sync.domain.service import (
        SyncService,
        _wants_base,
        is_mergeable,
        validate_request_id,
    )

USER = "user-1"
SERVICE = SyncService(None, notifier=None, page_tokens=None)  # type: ignore[arg-type]


@dataclass
class Server:
    """One user's items and their history, as a push group reads them before `_decide`."""

    items: dict[tuple[str, str], Item] = field(default_factory=dict)
    history: dict[tuple[str, str, int], Item] = field(default_factory=dict)
    revision: int = 0

    def push(self, changes: list) -> PushResult:
        results = []
        for i, change in enumerate(changes):
            cur = self.items.get((change.collection, change.key))
            base = (
                self.history.get((change.collection, change.key, change.base_revision))
                if _wants_base(change, cur)
                else None
            )
            outcome, value, conflict = SyncService._decide(change, cur, base)
            if outcome is Outcome.CONFLICT or value is None:
                results.append(ChangeResult(i, outcome, cur, conflict))
                continue
            self.revision += 1
            item = Item(
                collection=change.collection,
                key=change.key,
                value=b"" if change.deleted else value,
                content_type=change.content_type or DEFAULT_CONTENT_TYPE,
                encrypted=change.encrypted,
                mergeable=is_mergeable(change.collection, change.mergeable, change.encrypted),
                revision=self.revision,
                deleted=change.deleted,
            )
            self.items[(item.collection, item.key)] = item
            self.history[(item.collection, item.key, item.revision)] = item
            results.append(ChangeResult(i, outcome, item))
        return PushResult(results=results, latest_revision=self.revision)


def test_one_input(data: bytes) -> None:
    try:
        request = sync_service_pb2.PushRequest.FromString(data)
    except Exception:  # the interceptor answers any decoding failure with MALFORMED_REQUEST
        return
    changes = [converters.change_from_proto(c) for c in request.changes]
    converters.fingerprint(request)
    with contextlib.suppress(DomainError):
        validate_request_id(request.request_id, required=True)
    try:
        SERVICE._validate_changes(changes)
    except DomainError:
        return
    server = Server()
    created = [replace(change, base_revision=0) for change in changes]  # revisions 1..n
    overwritten = [
        replace(change, base_revision=i + 1, value=changes[(i + 1) % len(changes)].value)
        for i, change in enumerate(changes)
    ]
    for batch in (created, overwritten, changes):
        result = server.push(batch)
        converters.push_to_proto(USER, result).SerializeToString()
        stored = json.dumps(to_json(result), separators=(",", ":"))  # as the repository does
        assert from_json(json.loads(stored)) == result, "a stored push result decodes differently"


if __name__ == "__main__":
    fuzz(test_one_input)
