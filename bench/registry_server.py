"""The registry for the benchmarks: what `python -m symphony_registry serve` runs (settings from
the environment, uvloop, the real interceptor chain, scan worker, SIGTERM drain), except that
access tokens are verified against the JWKS in SYMPHONY_BENCH_JWKS (the bench's own key) and
auth's and analytics' internal services are replaced by stand-ins (every user exists, no
organizations, no administrators, downloads reports accepted), so no other service runs.
`python -m bench.registry_server`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import uvloop

from symphony_common.logging import configure_logging
from symphony_common.service import Overrides, start_service
from symphony_registry.bootstrap import DEFINITION
from symphony_registry.config import RegistrySettings
from symphony_registry.domain.models import Role


class StandInAuth:
    async def organization_role(self, organization_id: str, user_id: str) -> Role:
        return Role.NONE

    async def user_organizations(self, user_id: str) -> Sequence[tuple[str, Role]]:
        return ()

    async def organization_exists(self, organization_id: str) -> bool:
        return False

    async def user_exists(self, user_id: str) -> bool:
        return True

    async def user_display_name(self, user_id: str) -> str:
        return user_id

    async def is_administrator(self, user_id: str) -> bool:
        return False

    async def revoke_leaked_token(self, token: str, location: str) -> str:
        return "NOT_FOUND"


class StandInAnalytics:
    async def record_downloads(self, rows: Sequence[dict[str, Any]]) -> None:
        return None


async def main() -> None:
    settings = RegistrySettings()
    configure_logging("registry", settings.log_level)
    keys = json.loads(os.environ["SYMPHONY_BENCH_JWKS"])

    async def jwks() -> Sequence[Mapping[str, Any]]:
        return keys

    overrides = Overrides(
        jwks_source=jwks, extra={"auth": StandInAuth(), "analytics": StandInAnalytics()}
    )
    running = await start_service(DEFINITION, settings, overrides=overrides)
    try:
        await running.runtime.serve_until_signal(settings.shutdown_grace_seconds)
    finally:
        for task in running.tasks:
            task.cancel()
        await running.wiring.close()


if __name__ == "__main__":
    uvloop.run(main())
