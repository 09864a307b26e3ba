"""Sync use cases. Imports no framework: it talks to storage through the unit of work port."""

from __future__ import annotations

from collections.abc import Callable

from symphony_sync.domain.ports import SyncUnitOfWork


class SyncService:
    def __init__(self, uow: Callable[[], SyncUnitOfWork]) -> None:
        self._uow = uow
