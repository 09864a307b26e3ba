"""Per-request context carried in contextvars: request id and the authenticated principal."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# The caller's W3C `traceparent`, forwarded on peer calls and logged, whether or not spans
# are recorded here.
traceparent_var: contextvars.ContextVar[str] = contextvars.ContextVar("traceparent", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str:
    return request_id_var.get()


def trace_id_of(traceparent: str) -> str:
    """The trace id of a `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), or ""."""
    parts = traceparent.split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
        return parts[1]
    return ""


@dataclass(frozen=True)
class Principal:
    """Who is calling. `kind` is one of: anonymous, user (access token), pat (personal access
    token), service (another Symphony service holding a service credential)."""

    kind: str = "anonymous"
    user_id: str = ""
    session_id: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""
    # For kind service: the calling service (`registry`, …), as its credential proves; "" for
    # a peer presenting the bare shared secret (a rollout allowance, see `Authenticator`).
    service: str = ""

    @property
    def is_authenticated(self) -> bool:
        return self.kind in ("user", "pat")

    def has_scope(self, scope: str, resource: str = "") -> bool:
        """True when the token grants `scope`, or its narrower form `scope:resource`
        (a PAT scoped `registry.publish:acme` may publish to namespace acme only)."""
        return scope in self.scopes or bool(resource and f"{scope}:{resource}" in self.scopes)


ANONYMOUS = Principal()

principal_var: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "principal", default=ANONYMOUS
)


def current_principal() -> Principal:
    return principal_var.get()
