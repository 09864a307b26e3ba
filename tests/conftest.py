"""Root conftest: registers the shared fixtures (tests/common) for every layer. The repository
root is on sys.path through pytest's `pythonpath` setting, so `tests.common` imports."""

pytest_plugins = ["tests.common.stack"]
