"""What the auth domain needs from the outside world. `SqlAuthRepository` (db/repository.py)
implements `repo`; the adapters in `symphony_auth/adapters/` implement the rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from symphony_common.transactions import Transaction


class AuthUnitOfWork(Transaction, Protocol):
    # The repository: every query of the auth schema (see SqlAuthRepository for the methods).
    repo: Any


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work; `read_only` for a use case that only reads (no commit)."""

    def __call__(self, *, read_only: bool = False) -> AuthUnitOfWork: ...


class RateLimiter(Protocol):
    async def count(self, key: str) -> tuple[int, float]:
        """Hits recorded under `key` in its current window, and seconds until it resets."""

    async def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        """Record a hit; the new count and seconds until the window resets."""

    async def clear(self, key: str) -> None: ...


class Mailer(Protocol):
    async def send(self, recipient: str, subject: str, body: str) -> None: ...


class IdentityProviders(Protocol):
    async def authorization_endpoint(self, provider: str) -> str: ...

    async def exchange_code(
        self, provider: str, code: str, redirect_uri: str, code_verifier: str
    ) -> str:
        """The ID token for `code`; raises Unauthenticated(INVALID_GRANT) when refused."""

    async def verify_id_token(self, provider: str, id_token: str, nonce: str) -> Mapping[str, Any]:
        """Verified claims; raises Unauthenticated(ID_TOKEN_INVALID)."""


class PeerNotifier(Protocol):
    async def delete_user_data(self, peer: str, user_id: str, request_id: str) -> None:
        """Tells `peer` (sync, registry) to erase a deleted user's data; raises on failure."""
