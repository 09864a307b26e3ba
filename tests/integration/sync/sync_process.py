"""The sync service as a separate process for crash tests (SY-5): like `python -m symphony_sync
serve`, but verifying tokens against the test's key (PEM in SYNC_TEST_KEY) instead of auth's
JWKS. Prints its port, then serves until killed."""

from __future__ import annotations

import asyncio
import os
import sys

from cryptography.hazmat.primitives import serialization

from symphony_common.service import Overrides, start_service
from symphony_common.testing.tokens import TestSigner
from symphony_sync.bootstrap import DEFINITION
from tests.integration.sync.harness import _no_pats, settings


async def main() -> None:
    signer = TestSigner()
    signer.private_key = serialization.load_pem_private_key(
        os.environ["SYNC_TEST_KEY"].encode(), None
    )  # type: ignore[assignment]
    running = await start_service(
        DEFINITION,
        settings(os.environ["SYNC_TEST_DATABASE_URL"], os.environ["SYNC_TEST_REDIS_URL"]),
        port=0,
        overrides=Overrides(jwks_source=signer.jwks, introspect=_no_pats),
    )
    sys.stdout.write(f"{running.port}\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
