"""Test helpers shared by the services' and the gateway's tests: the echo service."""

from symphony_common.testing.echo import EchoServicer, start_echo_server

__all__ = ["EchoServicer", "start_echo_server"]
