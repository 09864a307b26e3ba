"""The registry running in-process (the same harness as the integration tests)."""

from tests.integration.registry.conftest import registry, registry_database_url  # noqa: F401
