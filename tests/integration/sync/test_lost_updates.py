"""RELIABILITY SY-1 and SY-2: the list-append lost-update test (Elle-style), and the same
harness against a deliberately naive read-modify-write to prove the test can fail."""
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import psycopg
import pytest
from grpc_status import rpc_status

from symphony.sync.v1 import resources_pb2
from symphony.sync.v1 import sync_service_pb2 as A
from symphony_client.errors import error_reason
from tests.integration.sync.harness import Client, change

pytestmark = pytest.mark.asyncio(loop_scope="session")

NIGHTLY = os.environ.get("SYMPHONY_TEST_TIER") == "nightly"
CLIENTS = 8
APPENDS = 200 if NIGHTLY else 25


@dataclass
class History:
    acknowledged: list[str] = field(default_factory=list)
    rejected_without_copy: int = 0
    # Rejections whose server copy was too large for the error's trailers: they carried the
    # current revision with `value_omitted`, and the client read the value with GetItem.
    copies_read_back: int = 0
    versions: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class Verdict:
    lost: list[str]
    duplicated: list[str]
    non_monotonic_clients: list[int]


def check(final: list[str], history: History) -> Verdict:
    counts = Counter(final)
    return Verdict(
        lost=[e for e in history.acknowledged if counts[e] == 0],
        duplicated=[e for e, n in counts.items() if n > 1],
        non_monotonic_clients=[
            c
            for c, vs in history.versions.items()
            if any(b <= a for a, b in itertools.pairwise(vs))
        ],
    )


Attempt = Callable[[int, str], Awaitable[bool]]


async def run_appends(
    attempt: Attempt, history: History, clients: int = CLIENTS, appends: int = APPENDS
) -> None:
    """`clients` concurrent workers each append `appends` unique elements, retrying an element
    until it is acknowledged, with random delays."""

    async def worker(c: int) -> None:
        rng = random.Random(c)
        for n in range(appends):
            element = f"c{c}-{n}"
            while not await attempt(c, element):  # noqa: ASYNC110 - retrying a write, not polling
                await asyncio.sleep(rng.random() * 0.003)
            history.acknowledged.append(element)
            await asyncio.sleep(rng.random() * 0.002)

    await asyncio.gather(*(worker(c) for c in range(clients)))


async def test_sy1_conditional_appends_lose_nothing(sync_server, sync_channel) -> None:
    owner = Client(sync_server, sync_channel)
    clients = [Client(sync_server, sync_channel, user=owner.user) for _ in range(CLIENTS)]
    history = History()
    known: dict[int, tuple[int, list[str]]] = {c: (0, []) for c in range(CLIENTS)}

    async def attempt(c: int, element: str) -> bool:
        revision, value = known[c]
        try:
            response = await clients[c].push(
                change("tasks", "the-record", json.dumps([*value, element]).encode(), revision),
                atomic=True,
            )
        except grpc.aio.AioRpcError as error:
            assert (error.code(), error_reason(error)) == (
                grpc.StatusCode.ABORTED,
                "REVISION_CONFLICT",
            )
            conflicts = A.PushConflicts()
            for detail in rpc_status.from_call(error).details:
                if detail.Is(A.PushConflicts.DESCRIPTOR):
                    detail.Unpack(conflicts)
            if not conflicts.conflicts or not conflicts.conflicts[0].HasField("item"):
                history.rejected_without_copy += 1
                return False
            result = conflicts.conflicts[0]
            server = result.item
            if result.value_omitted:
                history.copies_read_back += 1
                server = await clients[c].stub.GetItem(
                    A.GetItemRequest(collection="tasks", item="the-record"),
                    metadata=clients[c].metadata,
                )
            known[c] = (server.revision, json.loads(server.value))
            return False
        result = response.results[0]
        assert result.outcome == resources_pb2.CHANGE_OUTCOME_APPLIED
        known[c] = (result.item.revision, [*value, element])
        history.versions.setdefault(c, []).append(result.item.revision)
        return True

    await run_appends(attempt, history)
    item = await owner.stub.GetItem(
        A.GetItemRequest(collection="tasks", item="the-record"), metadata=owner.metadata
    )
    final = json.loads(item.value)
    verdict = check(final, history)
    assert verdict == Verdict([], [], [])
    assert history.rejected_without_copy == 0
    assert len(final) == CLIENTS * APPENDS
    if len(item.value) > 8 * 1024:  # the nightly tier's record outgrows an error's trailers
        assert history.copies_read_back > 0
    revisions = await owner.stub.ListItemRevisions(
        A.ListItemRevisionsRequest(collection="tasks", item="the-record"), metadata=owner.metadata
    )
    listed = [r.revision for r in revisions.revisions]
    assert listed == sorted(listed, reverse=True) and len(set(listed)) == len(listed)


async def test_sy2_the_harness_catches_a_naive_read_modify_write(database_url: str) -> None:
    """The naive variant: read the value, think, write it back, at READ COMMITTED, with no
    compare-and-set. SY-1's checker must report lost updates against it."""
    table = f"naive_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(
            f"CREATE TABLE public.{table} (id int PRIMARY KEY, value jsonb NOT NULL, "
            "version bigint NOT NULL)"
        )
        await admin.execute(f"INSERT INTO public.{table} VALUES (1, '[]', 0)")
    conns = [await psycopg.AsyncConnection.connect(database_url) for _ in range(CLIENTS)]
    history = History()
    try:

        async def attempt(c: int, element: str) -> bool:
            conn = conns[c]
            async with conn.transaction():  # READ COMMITTED, the default
                row = await (
                    await conn.execute(f"SELECT value, version FROM public.{table} WHERE id = 1")
                ).fetchone()
                await asyncio.sleep(random.random() * 0.002)
                await conn.execute(
                    f"UPDATE public.{table} SET value = %s, version = version + 1 WHERE id = 1",
                    (json.dumps([*row[0], element]),),
                )
            return True

        await run_appends(attempt, history, appends=min(APPENDS, 25))
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            final = (
                await (
                    await conn.execute(f"SELECT value FROM public.{table} WHERE id = 1")
                ).fetchone()
            )[0]
    finally:
        for conn in conns:
            await conn.close()
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
            await admin.execute(f"DROP TABLE public.{table}")
    verdict = check(final, history)
    assert verdict.lost, "SY-1's checker found no lost updates in a naive read-modify-write"
