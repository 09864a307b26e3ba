"""Where the client finds the backbone, from the environment:

- `SYMPHONY_URL`: the gateway (default http://127.0.0.1:8080), for the website-style HTTP calls.
- `SYMPHONY_GRPC_ADDRESS`: one address for every service (an ingress that routes by gRPC
  service), or per service `SYMPHONY_<SVC>_ADDRESS` (defaults 127.0.0.1:50051..50054).
- `SYMPHONY_HOME`: the client's state folder (credentials, sync cache); default
  `~/.config/symphony`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORTS = {"auth": 50051, "registry": 50052, "sync": 50053, "analytics": 50054}


def _address(service: str) -> str:
    return (
        os.environ.get(f"SYMPHONY_{service.upper()}_ADDRESS")
        or os.environ.get("SYMPHONY_GRPC_ADDRESS")
        or f"127.0.0.1:{DEFAULT_PORTS[service]}"
    )


@dataclass(frozen=True)
class ClientConfig:
    gateway_url: str = field(
        default_factory=lambda: os.environ.get("SYMPHONY_URL", "http://127.0.0.1:8080")
    )
    auth_address: str = field(default_factory=lambda: _address("auth"))
    registry_address: str = field(default_factory=lambda: _address("registry"))
    sync_address: str = field(default_factory=lambda: _address("sync"))
    analytics_address: str = field(default_factory=lambda: _address("analytics"))
    home: Path = field(
        default_factory=lambda: Path(
            os.environ.get("SYMPHONY_HOME") or Path.home() / ".config" / "symphony"
        )
    )

    def address(self, service: str) -> str:
        return str(getattr(self, f"{service}_address"))
