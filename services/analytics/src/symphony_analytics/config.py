"""Analytics settings: `SYMPHONY_ANALYTICS_*` plus the shared variables (see the README)."""

from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SYMPHONY_ANALYTICS_", extra="ignore", populate_by_name=True)

    service_name: str = "analytics"
