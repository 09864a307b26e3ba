"""What every service's unit of work offers its domain: `async with uow: ...; await
uow.commit()` — one transaction, rolled back unless committed. The services' ports extend it
with their repositories."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self


class Transaction(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
