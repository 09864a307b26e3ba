"""Registry settings: `SYMPHONY_REGISTRY_*` plus the shared variables (see the README)."""

from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SYMPHONY_REGISTRY_", extra="ignore", populate_by_name=True)

    service_name: str = "registry"
