"""Blob stores: package bytes content-addressed by SHA-256. PostgreSQL (default: works
everywhere, 1 MiB chunks, streamed both ways) and a filesystem backend for a shared volume."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from symphony_common.db.unit_of_work import translate_db_errors

CHUNK = 1024 * 1024


class PostgresBlobStore:
    def __init__(self, engine: AsyncEngine, chunk_size: int = CHUNK) -> None:
        self.engine = engine
        self.chunk_size = chunk_size

    async def exists(self, sha256: str) -> bool:
        with translate_db_errors():
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        text("SELECT 1 FROM registry.blobs WHERE sha256 = :s"), {"s": sha256}
                    )
                ).first()
        return row is not None

    async def put(self, sha256: str, size: int, path: str) -> None:
        with translate_db_errors():
            async with self.engine.begin() as conn:
                inserted = await conn.execute(
                    text("""INSERT INTO registry.blobs (sha256, size, chunk_size) VALUES (:s, :n,
                            :c) ON CONFLICT DO NOTHING"""),
                    {"s": sha256, "n": size, "c": self.chunk_size},
                )
                if inserted.rowcount == 0:
                    return  # content-addressed: the same bytes are already stored
                with open(path, "rb") as f:  # noqa: ASYNC230 - local spool file, 1 MiB reads
                    seq = 0
                    while chunk := f.read(self.chunk_size):
                        await conn.execute(
                            text(
                                "INSERT INTO registry.blob_chunks (sha256, seq, data)"
                                " VALUES (:s, :q, :d)"
                            ),
                            {"s": sha256, "q": seq, "d": chunk},
                        )
                        seq += 1

    async def read(self, sha256: str, offset: int = 0, length: int = -1) -> AsyncIterator[bytes]:
        with translate_db_errors():
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        text("SELECT size, chunk_size FROM registry.blobs WHERE sha256 = :s"),
                        {"s": sha256},
                    )
                ).first()
                if row is None:
                    raise FileNotFoundError(sha256)
                size, chunk_size = row.size, row.chunk_size
                end = size if length < 0 else min(size, offset + length)
                seq = offset // chunk_size
                position = offset
                while position < end:
                    data = (
                        await conn.execute(
                            text(
                                "SELECT data FROM registry.blob_chunks"
                                " WHERE sha256 = :s AND seq = :q"
                            ),
                            {"s": sha256, "q": seq},
                        )
                    ).scalar()
                    if data is None:
                        raise FileNotFoundError(f"{sha256}#{seq}")
                    data = bytes(data)
                    chunk_start = seq * chunk_size
                    lo = position - chunk_start
                    hi = min(end, chunk_start + len(data)) - chunk_start
                    if hi <= lo:
                        raise FileNotFoundError(f"{sha256}#{seq} is short")
                    position = chunk_start + hi
                    seq += 1
                    yield data[lo:hi]

    async def delete(self, sha256: str) -> None:
        with translate_db_errors():
            async with self.engine.begin() as conn:
                await conn.execute(
                    text("DELETE FROM registry.blobs WHERE sha256 = :s"), {"s": sha256}
                )


class FilesystemBlobStore:
    """`{root}/{sha[0:2]}/{sha}`; written to a temp name and renamed, so readers never see a
    partial file."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256")
        return self.root / sha256[:2] / sha256

    async def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    async def put(self, sha256: str, size: int, path: str) -> None:
        target = self._path(sha256)
        if target.exists():
            return

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                    shutil.copyfileobj(src, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise

        await asyncio.to_thread(copy)

    async def read(self, sha256: str, offset: int = 0, length: int = -1) -> AsyncIterator[bytes]:
        path = self._path(sha256)
        size = path.stat().st_size
        end = size if length < 0 else min(size, offset + length)
        with open(path, "rb") as f:  # noqa: ASYNC230
            f.seek(offset)
            remaining = end - offset
            while remaining > 0:
                chunk = await asyncio.to_thread(f.read, min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    async def delete(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(sha256).unlink()
