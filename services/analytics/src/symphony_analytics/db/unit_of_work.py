from __future__ import annotations

from symphony_common.db.unit_of_work import SqlUnitOfWork


class SqlAnalyticsUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the analytics schema."""
