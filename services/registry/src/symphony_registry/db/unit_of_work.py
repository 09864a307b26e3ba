from __future__ import annotations

from symphony_common.db.unit_of_work import SqlUnitOfWork


class SqlRegistryUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the registry schema."""
