"""A test-owned asyncio TCP proxy that drops connections at random points (RELIABILITY
fault injection: connection resets between client and server)."""

from __future__ import annotations

import asyncio
import contextlib
import random


class FlakyProxy:
    def __init__(
        self,
        target_port: int,
        *,
        drop: bool = True,
        seed: int = 0,
        min_bytes: int = 2_000,
        max_bytes: int = 120_000,
    ) -> None:
        self.target_port = target_port
        self.drop = drop
        self.rng = random.Random(seed)
        self.min_bytes, self.max_bytes = min_bytes, max_bytes
        self.port = 0
        self.drops = 0
        self.connections = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.offline = False

    async def start(self) -> FlakyProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.offline:
            writer.transport.abort()
            return
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        budget = [self.rng.randint(self.min_bytes, self.max_bytes) if self.drop else -1]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    if budget[0] >= 0:
                        budget[0] -= len(data)
                        if budget[0] < 0:
                            # Forward part of it, then reset both sides mid-stream.
                            dst.write(data[: self.rng.randint(0, len(data))])
                            self.drops += 1
                            break
                    dst.write(data)
                    await dst.drain()
            for w in (writer, up_writer):
                w.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut_all(self) -> None:
        for w in list(self._writers):
            w.transport.abort()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.cut_all()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
