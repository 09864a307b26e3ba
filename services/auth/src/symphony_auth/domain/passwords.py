"""Password policy (NIST SP 800-63B / ASVS 6) and argon2id hashing."""

from __future__ import annotations

import asyncio
import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from symphony_common.errors import invalid_field

MIN_LENGTH = 8
MAX_LENGTH = 256


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("symphony_auth.data").joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def check_policy(password: str, field: str = "password") -> str:
    """The normalised password, or INVALID_ARGUMENT. No composition rules, no truncation."""
    value = normalise(password)
    if len(value) < MIN_LENGTH:
        raise invalid_field(
            field, f"must be at least {MIN_LENGTH} characters", "PASSWORD_TOO_SHORT"
        )
    if len(value) > MAX_LENGTH:
        raise invalid_field(field, f"must be at most {MAX_LENGTH} characters", "PASSWORD_TOO_LONG")
    if value.casefold() in common_passwords():
        raise invalid_field(field, "is too common; choose another", "PASSWORD_TOO_COMMON")
    return value


def hashing_threads() -> int:
    """One hashing thread per CPU this process may run on: argon2id is CPU-bound (and releases
    the GIL), so more threads add no throughput, only `memory_kib` of resident memory each
    (glibc keeps every thread's freed argon2 block for its next hash)."""
    return max(1, len(os.sched_getaffinity(0)))


class Argon2Hasher:
    """argon2id; `verify` takes the same time for an unknown user (a dummy hash). The async
    methods run the hash on a pool of `threads` (default `hashing_threads()`), off the event
    loop."""

    def __init__(
        self,
        memory_kib: int = 19456,
        time_cost: int = 2,
        parallelism: int = 1,
        threads: int | None = None,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._dummy = self._hasher.hash("symphony-dummy-password-for-unknown-users")
        self._pool = ThreadPoolExecutor(
            max_workers=threads or hashing_threads(), thread_name_prefix="argon2"
        )

    async def hash_async(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.hash, password)

    async def verify_async(self, stored: str | None, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.verify, stored, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalise(password))

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return (
                self._hasher.verify(stored or self._dummy, normalise(password))
                and stored is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True
