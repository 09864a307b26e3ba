"""One file out of a stored package, without reading the whole package: `zipfile` runs in a
thread over a file object whose reads are range reads of the blob store (the central directory
at the end, then the entry's local header and data)."""

from __future__ import annotations

import asyncio
import io
import zipfile

from symphony_registry.domain.ports import BlobStore

READ_BUFFER = 256 * 1024


class BlobFile(io.RawIOBase):
    """A read-only, seekable file over a blob; used from a worker thread, reading through the
    event loop that owns the blob store's connections."""

    def __init__(
        self, blobs: BlobStore, sha256: str, size: int, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._blobs, self._sha256, self._size, self._loop = blobs, sha256, size, loop
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._position)
        if want <= 0:
            return 0
        data = asyncio.run_coroutine_threadsafe(self._read(self._position, want), self._loop)
        chunk = data.result()
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    async def _read(self, offset: int, length: int) -> bytes:
        return b"".join([c async for c in self._blobs.read(self._sha256, offset, length)])


def _extract(file: io.RawIOBase, path: str, limit: int) -> bytes:
    with (
        zipfile.ZipFile(io.BufferedReader(file, READ_BUFFER)) as archive,
        archive.open(path) as member,
    ):
        return member.read(limit + 1)


async def read_entry(blobs: BlobStore, sha256: str, size: int, path: str, limit: int) -> bytes:
    """The entry's bytes, at most `limit` + 1 (so a caller sees an entry larger than claimed)."""
    blob = BlobFile(blobs, sha256, size, asyncio.get_running_loop())
    return await asyncio.to_thread(_extract, blob, path, limit)
