"""What the analytics domain needs from the outside world."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self


class AnalyticsUnitOfWork(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
