"""Gateway settings, from `SYMPHONY_GATEWAY_*` environment variables, read once."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class GatewaySettings(BaseSettings):
    """Backend addresses are not here: they are `SYMPHONY_<SVC>_ADDRESS` (see backends.py)."""

    model_config = SettingsConfigDict(env_prefix="SYMPHONY_GATEWAY_", frozen=True, extra="ignore")

    # Address the HTTP server listens on (0.0.0.0 in a container).
    bind: str = "127.0.0.1"
    # HTTP port.
    port: int = Field(default=8080, ge=0, le=65535)
    # Worker processes.
    workers: int = Field(default=1, ge=1)
    # Largest JSON request body; larger is 413.
    max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    # Largest package accepted by the raw upload routes (`POST /v1/publishing:upload`, Open VSX
    # publish); the body streams to the registry and is refused once it passes this size.
    max_package_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    # Comma list of website origins allowed by CORS; empty: CORS off.
    cors_origins: Annotated[list[str], NoDecode] = []
    # Comma list of proxy addresses or CIDRs whose X-Forwarded-For is believed.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Deadline of a unary call to a service.
    rpc_timeout_seconds: float = Field(default=30.0, gt=0)
    # Longest a Server-Sent Events stream stays open.
    stream_timeout_seconds: float = Field(default=3600.0, gt=0)
    # Deadline of each backend health check behind /healthz.
    health_timeout_seconds: float = Field(default=2.0, gt=0)
    # Log level of the gateway.
    log_level: str = "info"

    _split = field_validator("cors_origins", "trusted_proxies", mode="before")(_comma_list)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies)
