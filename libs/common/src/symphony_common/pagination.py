"""Opaque, tamper-evident page tokens (AIP-158).

A token carries the position after the last item of a page, bound to the query that made it:
reusing it with other filters, editing it, or sending garbage is `INVALID_ARGUMENT`
(`INVALID_PAGE_TOKEN`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from symphony_common.errors import invalid_field

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_MAC_BYTES = 12


def page_size(
    requested: int, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE
) -> int:
    """AIP-158: 0 means the default, larger than the maximum is clamped, negative is an error."""
    if requested < 0:
        raise invalid_field("page_size", "must not be negative", "INVALID_PAGE_SIZE")
    return min(requested or default, maximum)


class PageTokenCodec:
    def __init__(self, secret: str | bytes) -> None:
        self._key = secret.encode() if isinstance(secret, str) else secret
        if not self._key:
            raise ValueError("page token secret must not be empty")

    @staticmethod
    def _query_hash(query: Mapping[str, Any]) -> str:
        canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def encode(self, position: Mapping[str, Any], query: Mapping[str, Any] | None = None) -> str:
        body = json.dumps(
            {"p": position, "q": self._query_hash(query or {})}, separators=(",", ":"), default=str
        ).encode()
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(mac + body).rstrip(b"=").decode()

    def decode(self, token: str, query: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """The position in `token`, or None for an empty token (the first page)."""
        if not token:
            return None
        bad = invalid_field("page_token", "is not a page token of this query", "INVALID_PAGE_TOKEN")
        if len(token) > 4096:
            raise bad
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise bad from None
        mac, body = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]
        if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, expected):
            raise bad
        try:
            decoded = json.loads(body)
        except ValueError:
            raise bad from None
        if not isinstance(decoded, dict) or decoded.get("q") != self._query_hash(query or {}):
            raise bad
        position = decoded.get("p")
        if not isinstance(position, dict):
            raise bad
        return position
