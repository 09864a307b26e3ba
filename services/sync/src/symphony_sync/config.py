"""Sync settings: `SYMPHONY_SYNC_*` plus the shared variables (see the README)."""

from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings


class SyncSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SYMPHONY_SYNC_", extra="ignore", populate_by_name=True)

    service_name: str = "sync"
