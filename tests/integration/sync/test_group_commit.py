"""Group commit and grouped page reads: pushes of different users that arrive together share
one transaction (one commit), pulls that arrive together share one statement. Calls go to the
running service's `SyncService` directly, so which calls share a group is decided by the test
(all submitted in one turn of the loop), not by network timing; what they wrote is checked in
PostgreSQL (rows written in one transaction share their `xmin`)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import psycopg
import pytest

from symphony_common.context import Principal
from symphony_common.errors import DomainError
from symphony_sync.domain.models import Change, ClientContext, Device, Outcome, PushResult
from tests.integration.sync.harness import SyncServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

USERS = 12


def principal(user: str) -> Principal:
    return Principal(kind="user", user_id=user, scopes=frozenset({"sync.read", "sync.write"}))


def push(
    server: SyncServer,
    user: str,
    *changes: Change,
    ctx: ClientContext | None = None,
    atomic: bool = False,
    request_id: str | None = None,
) -> Any:
    return server.service.push(
        principal(user),
        ctx or ClientContext(),
        request_id or str(uuid.uuid4()),
        list(changes),
        atomic=atomic,
        fingerprint=uuid.uuid4().bytes,
    )


async def item_xmins(database_url: str, users: list[str]) -> dict[str, str]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        rows = await (
            await conn.execute(
                "SELECT user_id, xmin::text FROM sync.users WHERE user_id = ANY(%s)", (users,)
            )
        ).fetchall()
    return dict(rows)


async def test_pushes_of_different_users_commit_together_and_all_are_durable(
    sync_server: SyncServer, database_url: str
) -> None:
    users = [f"group-{uuid.uuid4().hex[:8]}-{i}" for i in range(USERS)]
    results: list[PushResult] = await asyncio.gather(
        *(push(sync_server, u, Change("tasks", "a", value=u.encode())) for u in users)
    )
    assert all(r.results[0].outcome is Outcome.APPLIED for r in results)
    # One transaction wrote every user's counter row.
    assert len(set((await item_xmins(database_url, users)).values())) == 1
    # Durable and readable by each user alone: a fresh pull sees exactly its own write.
    for user in users:
        page, _ = await sync_server.service.pull(
            principal(user),
            ClientContext(),
            since=0,
            collections=[],
            page_size_requested=0,
            page_token="",
        )
        assert [(i.key, i.value, i.revision) for i in page.changes] == [("a", user.encode(), 1)]


async def test_each_users_revisions_stay_monotonic_across_groups(
    sync_server: SyncServer,
) -> None:
    users = [f"mono-{uuid.uuid4().hex[:8]}-{i}" for i in range(6)]

    async def writer(user: str) -> list[int]:
        seen = []
        for n in range(8):
            result = await push(sync_server, user, Change("tasks", f"k{n}", value=b"v"))
            seen.append(result.latest_revision)
        return seen

    # Same-user pushes submitted together run one after another, in submission order.
    burst = await asyncio.gather(
        *(push(sync_server, users[0], Change("tasks", f"b{n}", value=b"v")) for n in range(5))
    )
    assert [r.latest_revision for r in burst] == [1, 2, 3, 4, 5]
    histories = await asyncio.gather(*(writer(u) for u in users))
    assert histories[0] == list(range(6, 14))
    for history in histories[1:]:
        assert history == list(range(1, 9))
    assert all(b > a for h in histories for a, b in itertools.pairwise(h))


async def test_a_refused_push_does_not_fail_its_group(sync_server: SyncServer) -> None:
    users = [f"refused-{uuid.uuid4().hex[:8]}-{i}" for i in range(6)]
    taken = users[0]
    await push(sync_server, taken, Change("tasks", "x", value=b"1"))
    outcomes = await asyncio.gather(
        # An atomic batch with a conflict (the item exists, base 0).
        push(sync_server, taken, Change("tasks", "x", value=b"2"), atomic=True),
        # A device that does not exist.
        push(sync_server, users[1], Change("tasks", "x", value=b"1"), ctx=ClientContext("nope")),
        *(push(sync_server, u, Change("tasks", "x", value=b"1")) for u in users[2:]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], DomainError)
    assert outcomes[0].reason == "REVISION_CONFLICT"
    assert isinstance(outcomes[1], DomainError)
    assert outcomes[1].reason == "DEVICE_NOT_FOUND"
    assert all(isinstance(o, PushResult) and o.latest_revision == 1 for o in outcomes[2:])
    config = await sync_server.service.get_config(principal(users[1]))
    assert config.latest_revision == 0


async def test_a_push_the_database_refuses_fails_alone(
    sync_server: SyncServer, database_url: str
) -> None:
    users = [f"dbfail-{uuid.uuid4().hex[:8]}-{i}" for i in range(6)]
    # A NUL in a text column: only the database refuses it, failing the group's write; the
    # others are then committed one by one.
    bad = Change("tasks", "x", value=b"1", content_type="text/plain\x00")
    outcomes = await asyncio.gather(
        push(sync_server, users[0], bad),
        *(push(sync_server, u, Change("tasks", "x", value=b"1")) for u in users[1:]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], Exception)
    assert all(isinstance(o, PushResult) and o.latest_revision == 1 for o in outcomes[1:])
    config = await sync_server.service.get_config(principal(users[0]))
    assert config.latest_revision == 0
    # Committed one by one after the group failed: each in a transaction of its own.
    assert len(set((await item_xmins(database_url, users[1:])).values())) == len(users) - 1


async def test_replays_and_duplicates_in_groups(sync_server: SyncServer) -> None:
    user, other = f"replay-{uuid.uuid4().hex[:8]}", f"replay-{uuid.uuid4().hex[:8]}"
    rid = str(uuid.uuid4())
    first = await sync_server.service.push(
        principal(user), ClientContext(), rid, [Change("tasks", "r", value=b"1")],
        atomic=False, fingerprint=b"f",
    )  # fmt: skip
    # A replay grouped with a fresh push of another user; a duplicate still running fails fast.
    replay, fresh = await asyncio.gather(
        sync_server.service.push(
            principal(user), ClientContext(), rid, [Change("tasks", "r", value=b"1")],
            atomic=False, fingerprint=b"f",
        ),
        push(sync_server, other, Change("tasks", "r", value=b"1")),
    )  # fmt: skip
    assert replay.replayed and replay.latest_revision == first.latest_revision == 1
    assert not fresh.replayed and fresh.latest_revision == 1
    rid2 = str(uuid.uuid4())
    outcomes = await asyncio.gather(
        *(
            sync_server.service.push(
                principal(user), ClientContext(), rid2, [Change("tasks", "s", value=b"1")],
                atomic=False, fingerprint=b"g",
            )
            for _ in range(3)
        ),
        return_exceptions=True,
    )  # fmt: skip
    assert isinstance(outcomes[0], PushResult) and not outcomes[0].replayed
    assert all(
        isinstance(o, DomainError) and o.reason == "REQUEST_IN_PROGRESS" for o in outcomes[1:]
    )


async def test_pulls_read_together_each_get_their_own_page(sync_server: SyncServer) -> None:
    users = [f"pull-{uuid.uuid4().hex[:8]}-{i}" for i in range(8)]
    for n, user in enumerate(users):
        await push(
            sync_server,
            user,
            *(Change("tasks", f"t{i}", value=f"{user}-{i}".encode()) for i in range(n + 1)),
            Change("notes", "n", value=b"note"),
        )
    excluding = await sync_server.service.register_device(
        principal(users[0]),
        Device(uid="", display_name="d", platform="p", excluded_collections=["notes"]),
        str(uuid.uuid4()),
        b"d",
    )

    def pull(user: str, since: int, collections: list[str], device: str = "") -> Any:
        return sync_server.service.pull(
            principal(user),
            ClientContext(device),
            since=since,
            collections=collections,
            page_size_requested=0,
            page_token="",
        )

    pages = await asyncio.gather(
        *(pull(u, 0, []) for u in users),
        pull(users[3], 2, ["tasks"]),
        pull(users[0], 0, [], excluding.uid),
        pull("pull-nobody-" + uuid.uuid4().hex, 0, []),
    )
    for n, (user, (page, _)) in enumerate(zip(users, pages, strict=False)):
        assert [(i.collection, i.key) for i in page.changes] == [
            *(("tasks", f"t{i}") for i in range(n + 1)),
            ("notes", "n"),
        ]
        assert all(i.value.startswith(user.encode()) for i in page.changes[:-1])
        assert page.cursor == n + 2
    filtered, _ = pages[len(users)]
    assert [i.key for i in filtered.changes] == ["t2", "t3"] and filtered.cursor == 5
    excluded, _ = pages[len(users) + 1]
    assert [i.key for i in excluded.changes] == ["t0"] and excluded.cursor == 2
    nobody, _ = pages[len(users) + 2]
    assert nobody.changes == [] and nobody.cursor == 0
