"""Client-side three-way merge of JSON objects per top-level key (the same rule the server
applies), used to fold a server merge into local edits made while the push was in flight."""

from __future__ import annotations

import json
from typing import Any

_ABSENT: Any = object()


def _obj(value: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _same(x: Any, y: Any) -> bool:
    if x is _ABSENT or y is _ABSENT:
        return x is y
    return _canon(x) == _canon(y)


def three_way(
    base: dict[str, Any], server: dict[str, Any], client: dict[str, Any], prefer: str = "server"
) -> tuple[dict[str, Any], list[str]]:
    """Merged object and the keys both sides changed differently (resolved to `prefer`)."""
    merged: dict[str, Any] = {}
    conflicts: list[str] = []
    keys = (
        list(server)
        + [k for k in client if k not in server]
        + [k for k in base if k not in server and k not in client]
    )
    for key in keys:
        s, c, b = server.get(key, _ABSENT), client.get(key, _ABSENT), base.get(key, _ABSENT)
        if _same(s, c):
            result = s
        elif _same(s, b):
            result = c
        elif _same(c, b):
            result = s
        else:
            conflicts.append(key)
            result = c if prefer == "client" else s
        if result is not _ABSENT:
            merged[key] = result
    return merged, sorted(conflicts)


def three_way_bytes(base: bytes, server: bytes, client: bytes, prefer: str = "server") -> bytes:
    """Bytes in, bytes out; when any side is not a JSON object the preferred side wins."""
    b, s, c = _obj(base), _obj(server), _obj(client)
    if b is None or s is None or c is None:
        return client if prefer == "client" else server
    merged, _ = three_way(b, s, c, prefer)
    return json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode()
