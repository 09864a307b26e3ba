"""Auth settings: `SYMPHONY_AUTH_*` plus the shared variables (see the README)."""

from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SYMPHONY_AUTH_", extra="ignore", populate_by_name=True)

    service_name: str = "auth"
