"""What the registry domain needs from the outside world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from symphony_common.transactions import Transaction
from symphony_registry.domain.models import Role


class RegistryRepository(Protocol):
    """All SQL of the registry (see `db/repository.py`); methods take and return domain
    records. Listed loosely: the SQL implementation is the reference."""

    def __getattr__(self, name: str) -> Any: ...


class RegistryUnitOfWork(Transaction, Protocol):
    repo: RegistryRepository


class BlobStore(Protocol):
    """Package bytes, content-addressed by SHA-256."""

    async def put(self, sha256: str, size: int, path: str) -> None:
        """Store the file at `path` (already hashed by the caller) under `sha256`; idempotent."""

    def read(self, sha256: str, offset: int = 0, length: int = -1) -> AsyncIterator[bytes]:
        """Chunks of at most 1 MiB from `offset`, `length` bytes (-1: to the end); an async
        generator, so implementations are `async def` with `yield`."""
        ...

    async def delete(self, sha256: str) -> None: ...

    async def exists(self, sha256: str) -> bool: ...


class AuthPort(Protocol):
    """Auth's internal service, as the registry needs it."""

    async def organization_role(self, organization_id: str, user_id: str) -> Role:
        """OWNER for an organization owner/admin, CONTRIBUTOR for a member, NONE otherwise."""

    async def user_organizations(self, user_id: str) -> Sequence[tuple[str, Role]]:
        """(organization id, role) for every organization of the user."""

    async def organization_exists(self, organization_id: str) -> bool: ...

    async def user_exists(self, user_id: str) -> bool: ...

    async def user_display_name(self, user_id: str) -> str: ...

    async def is_administrator(self, user_id: str) -> bool: ...

    async def revoke_leaked_token(self, token: str, location: str) -> str:
        """Revokes a token found in a package; returns the outcome's name."""


class AnalyticsPort(Protocol):
    async def record_downloads(self, rows: Sequence[dict[str, Any]]) -> None:
        """Sends outbox rows; raises when analytics did not take them."""


class Cache(Protocol):
    """Redis as an accelerator: every method swallows Redis errors (a miss, a no-op)."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def generation(self, name: str) -> str:
        """A counter folded into keys of a family (search results); '' when unavailable."""

    async def bump(self, name: str) -> None: ...


class NullCache:
    async def get(self, key: str) -> bytes | None:
        return None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        return None

    async def delete(self, *keys: str) -> None:
        return None

    async def generation(self, name: str) -> str:
        return ""

    async def bump(self, name: str) -> None:
        return None
