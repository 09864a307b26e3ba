from __future__ import annotations

from symphony_common.db.unit_of_work import SqlUnitOfWork


class SqlSyncUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the sync schema."""
