"""Three-way merge of JSON objects per top-level key (the VS Code settings model, done on the
server so that two devices editing different settings never lose either edit)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from symphony_sync.domain.models import KeyConflict

_ABSENT: Any = object()


# Deeper values would reach the interpreter's recursion limit in the merge's own json.dumps
# calls, which run deeper in the stack than this parse (found by IN-4).
MAX_DEPTH = 64


def parse_object(value: bytes) -> dict[str, Any] | None:
    """The JSON object in `value`, or None when it is not one (not UTF-8, not JSON, not an
    object, nested deeper than MAX_DEPTH, or holding an escaped lone surrogate, which no UTF-8
    text can carry back out)."""
    try:
        parsed = json.loads(value.decode("utf-8"))
        if b"\\ud" in value.lower():
            dump(parsed)  # raises UnicodeEncodeError (a ValueError) on a lone surrogate
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict) or _deeper_than(parsed, MAX_DEPTH):
        return None
    return parsed


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in node)
    return False


def dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _canon(value: Any) -> str:
    """Equality of JSON values regardless of object key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _same(a: Any, b: Any) -> bool:
    if a is _ABSENT or b is _ABSENT:
        return a is b
    return _canon(a) == _canon(b)


@dataclass
class MergeOutcome:
    merged: dict[str, Any]
    conflicts: list[KeyConflict]


def three_way(
    base: dict[str, Any] | None, server: dict[str, Any], client: dict[str, Any]
) -> MergeOutcome:
    """Merge per top-level key. Without a base (`None`: it left the history) the merge is
    two-way: every key whose values differ conflicts. The merged object holds the server's
    value for conflicting keys, so it is a safe proposal ("keep the server's")."""
    merged: dict[str, Any] = {}
    conflicts: list[KeyConflict] = []
    keys = list(server.keys()) + [k for k in client if k not in server]
    if base is not None:
        keys += [k for k in base if k not in server and k not in client]
    for key in keys:
        s = server.get(key, _ABSENT)
        c = client.get(key, _ABSENT)
        b = _ABSENT if base is None else base.get(key, _ABSENT)
        if _same(s, c):
            result = s
        elif base is not None and _same(s, b):
            result = c  # only the client changed it
        elif base is not None and _same(c, b):
            result = s  # only the server changed it
        else:
            conflicts.append(
                KeyConflict(
                    key=key,
                    base_value=None if b is _ABSENT else dump(b),
                    server_value=None if s is _ABSENT else dump(s),
                    client_value=None if c is _ABSENT else dump(c),
                )
            )
            result = s
        if result is not _ABSENT:
            merged[key] = result
    conflicts.sort(key=lambda k: k.key)
    return MergeOutcome(merged, conflicts)
