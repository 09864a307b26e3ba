"""Registry use cases. Imports no framework: it talks to storage through the unit of work port."""

from __future__ import annotations

from collections.abc import Callable

from symphony_registry.domain.ports import RegistryUnitOfWork


class RegistryService:
    def __init__(self, uow: Callable[[], RegistryUnitOfWork]) -> None:
        self._uow = uow
