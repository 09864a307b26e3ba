"""The echo service behind the services' own server bootstrap and interceptor chain, to measure
what the shared framework costs per call. `python -m bench.framework_echo PORT [--no-tracing]`."""

from __future__ import annotations

import asyncio
import signal
import sys

import uvloop

from symphony.testing.v1 import echo_service_pb2, echo_service_pb2_grpc
from symphony_common.config import ServiceSettings
from symphony_common.grpc.interceptors import ServiceInterceptor
from symphony_common.grpc.server import create_server
from symphony_common.service import tracing_interceptors
from symphony_common.testing.echo import EchoServicer
from symphony_common.tokens import Authenticator


async def main(port: int, tracing: bool) -> None:
    runtime = create_server(
        ServiceSettings(service_name="echo", log_level="WARNING"),
        register=lambda s: echo_service_pb2_grpc.add_EchoServiceServicer_to_server(
            EchoServicer(), s
        ),
        service_names=[echo_service_pb2.DESCRIPTOR.services_by_name["EchoService"].full_name],
        service_interceptor=ServiceInterceptor(
            "testing.symphony.dev", Authenticator(service_token="x"), "echo"
        ),
        interceptors=tracing_interceptors() if tracing else [],
        port=port,
    )
    await runtime.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runtime.stop(0.5)


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    uvloop.run(main(int(sys.argv[1]), "--no-tracing" not in sys.argv))
