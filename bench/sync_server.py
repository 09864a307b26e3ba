"""The sync service for the benchmarks: what `python -m symphony_sync serve` runs (settings from
the environment, uvloop, the real interceptor chain, SIGTERM drain), except that access tokens
are verified against the JWKS in SYMPHONY_BENCH_JWKS (the bench's own signing key) instead of a
running auth service. `python -m bench.sync_server`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import uvloop

from symphony_common.logging import configure_logging
from symphony_common.service import Overrides, start_service
from symphony_sync.bootstrap import DEFINITION
from symphony_sync.config import SyncSettings


async def main() -> None:
    settings = SyncSettings()
    configure_logging("sync", settings.log_level)
    keys = json.loads(os.environ["SYMPHONY_BENCH_JWKS"])

    async def jwks() -> Sequence[Mapping[str, Any]]:
        return keys

    running = await start_service(DEFINITION, settings, overrides=Overrides(jwks_source=jwks))
    try:
        await running.runtime.serve_until_signal(settings.shutdown_grace_seconds)
    finally:
        for task in running.tasks:
            task.cancel()
        await running.wiring.close()


if __name__ == "__main__":
    uvloop.run(main())
