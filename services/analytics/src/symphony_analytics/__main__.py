"""`python -m symphony_analytics serve|migrate|rebuild-rollups [--days N]|fold-rollups`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta

from symphony_analytics.bootstrap import DEFINITION, make_service
from symphony_analytics.config import AnalyticsSettings
from symphony_common.service import main


async def _rollups(days: int | None) -> None:
    """With `days`: recompute the rollups of the last `days` days from the raw events (within
    retention). Without: fold the pending rollup deltas now (as `serve` does periodically)."""
    from symphony_common.db.engine import create_engine

    settings = AnalyticsSettings()
    # No statement timeout: one rebuild statement aggregates every raw event of the range
    # (minutes for millions of events); the default 30 s would abort it as STORAGE_UNAVAILABLE.
    engine = create_engine(
        settings.database_url,
        application_name="symphony-analytics-rebuild",
        statement_timeout_ms=0,
    )
    try:
        service = make_service(settings, engine, registry=None, rate_limiter=None)
        if days is None:
            await service.fold_rollups()
            return
        end = datetime.now(UTC) + timedelta(days=1)
        await service.rebuild_rollups(end - timedelta(days=days + 1), end)
    finally:
        await engine.dispose()


def run() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "rebuild-rollups":
        parser = argparse.ArgumentParser(prog="symphony-analytics rebuild-rollups")
        parser.add_argument("--days", type=int, default=AnalyticsSettings().raw_retention_days)
        args = parser.parse_args(sys.argv[2:])
        asyncio.run(_rollups(args.days))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "fold-rollups":
        asyncio.run(_rollups(None))
        sys.exit(0)
    sys.exit(main(DEFINITION))


if __name__ == "__main__":
    run()
