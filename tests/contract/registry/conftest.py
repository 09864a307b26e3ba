"""The registry running in-process (the same harness as the integration tests), on a database of
its own: the integration tests' registry is a second instance in the same session, and two scan
workers on one database take each other's scans, each revoking leaked tokens through its own
fake auth."""

from collections.abc import Iterator

import pytest

from symphony_common.db import migrations
from symphony_registry.bootstrap import DEFINITION
from tests.common.stack import _database_name, fresh_database
from tests.integration.registry.conftest import registry  # noqa: F401


@pytest.fixture(scope="session")
def registry_database_url(admin_database_url: str) -> Iterator[str]:
    with fresh_database(admin_database_url, _database_name("contract_registry")) as url:
        migrations.upgrade(url, DEFINITION.schema, DEFINITION.migrations_dir)
        yield url
