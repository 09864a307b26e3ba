"""Shared test support: stack fixtures (``tests.common.stack``), builders and fakes."""
