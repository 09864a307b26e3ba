"""Fixtures of the auth tests; the helpers live in `support.py`."""

from tests.integration.auth.support import (  # noqa: F401 - fixtures
    _reset_clock,
    auth,
    auth_database_url,
    isolated_database_url,
    oidc_harness,
)
