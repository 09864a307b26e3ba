"""Analytics use cases. Imports no framework: it talks to storage through the unit of work port."""

from __future__ import annotations

from collections.abc import Callable

from symphony_analytics.domain.ports import AnalyticsUnitOfWork


class AnalyticsService:
    def __init__(self, uow: Callable[[], AnalyticsUnitOfWork]) -> None:
        self._uow = uow
