"""The bare argon2id baseline of the login scenario: hash continuously with the service's
parameters, `concurrency` hashes submitted to a thread pool of one thread per CPU this process
may run on — the size of the auth service's hashing pool (`hashing_threads()`) — and print the
hash rate as JSON.

`python -m bench.auth_argon2 CONCURRENCY SECONDS MEMORY_KIB TIME_COST PARALLELISM`
(run pinned to the server core, like the service)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type


def main(concurrency: int, seconds: float, memory_kib: int, time_cost: int, lanes: int) -> None:
    hasher = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=lanes, type=Type.ID
    )
    hasher.hash("warm-up password")
    done = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(_: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            hasher.hash("correct horse battery staple 42")
            with lock:
                done += 1

    started = time.perf_counter()
    workers = min(concurrency, max(1, len(os.sched_getaffinity(0))))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(worker, range(concurrency)))
    elapsed = time.perf_counter() - started
    print(
        json.dumps({"hashes": done, "seconds": elapsed, "rate": done / elapsed, "threads": workers})
    )


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]), float(a[1]), int(a[2]), int(a[3]), int(a[4]))
