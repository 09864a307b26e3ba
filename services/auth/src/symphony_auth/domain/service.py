"""Auth use cases. Imports no framework: it talks to storage through the unit of work port."""

from __future__ import annotations

from collections.abc import Callable

from symphony_auth.domain.ports import AuthUnitOfWork


class AuthService:
    def __init__(self, uow: Callable[[], AuthUnitOfWork]) -> None:
        self._uow = uow
