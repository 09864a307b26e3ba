# The same running analytics server (real grpc.aio on port 0, real PostgreSQL and Redis, stub
# registry) as the integration tests.
from tests.integration.analytics.conftest import (  # noqa: F401
    analytics,
    analytics_url,
    channel,
    clean,
    internal_stub,
    registry_address,
    registry_state,
    service_metadata,
    signer,
    stub,
)
