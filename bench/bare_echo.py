"""The bare baseline server: the echo service on plain `grpc.aio`, no interceptors, uvloop.
`python -m bench.bare_echo PORT`."""

from __future__ import annotations

import asyncio
import signal
import sys

import uvloop

from symphony_common.testing.echo import start_echo_server


async def main(port: int) -> None:
    server, _ = await start_echo_server(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0.5)


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
