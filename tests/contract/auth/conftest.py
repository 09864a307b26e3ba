from tests.integration.auth.support import _reset_clock, auth, auth_database_url  # noqa: F401 - fixtures
