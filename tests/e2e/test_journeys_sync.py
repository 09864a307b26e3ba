"""Issue 4 as a new user lives it: settings pushed and read back through the gateway, a stale
write refused with the server's copy, changes since a cursor, the live SSE feed receiving a
change pushed by another request, devices, snapshots and a reset; then the `symphony sync`
commands against the same account."""

from __future__ import annotations

import base64
import json
import random
import socket
import struct
import threading
import time
import uuid
from urllib.parse import urlsplit

import httpx

from symphony_common.devstack import RunningStack
from tests.e2e.conftest import Cli, WebUser, register


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _push(web: httpx.Client, user: WebUser, *changes: dict, atomic: bool = False) -> httpx.Response:
    return web.post(
        "/v1/sync:push",
        headers=user.auth,
        json={"requestId": str(uuid.uuid4()), "atomic": atomic, "changes": list(changes)},
    )


def _item(web: httpx.Client, user: WebUser, collection: str, key: str) -> httpx.Response:
    return web.get(f"/v1/sync/collections/{collection}/items/{key}", headers=user.auth)


def test_push_conflict_get_and_changes_since_a_cursor(
    web: httpx.Client, stack: RunningStack
) -> None:
    user = register(web, stack, "sync")
    first = _push(
        web,
        user,
        {
            "collection": "settings",
            "key": "settings.json",
            "value": _b64('{"editor.fontSize": 14}'),
            "contentType": "application/json",
            "baseRevision": "0",
        },
    )
    assert first.status_code == 200, first.text
    (result,) = first.json()["results"]
    assert result["outcome"] == "CHANGE_OUTCOME_APPLIED"
    revision = int(result["item"]["revision"])
    assert revision >= 1

    # Another device still thinks the item does not exist (base 0): an atomic push is a 409
    # with the server's copy in the details.
    stale = _push(
        web,
        user,
        {
            "collection": "settings",
            "key": "settings.json",
            "value": _b64('{"editor.fontSize": 20}'),
            "contentType": "application/json",
            "baseRevision": "0",
        },
        atomic=True,
    )
    assert stale.status_code == 409, stale.text
    error = stale.json()["error"]
    assert error["status"] == "ABORTED"
    (conflicts,) = [d for d in error["details"] if d["@type"].endswith("PushConflicts")]
    server_copy = conflicts["conflicts"][0]["item"]
    assert base64.b64decode(server_copy["value"]) == b'{"editor.fontSize": 14}'
    assert int(server_copy["revision"]) == revision
    # A plain (non-atomic) push reports the conflict per change, with the server's copy.
    plain = _push(
        web,
        user,
        {
            "collection": "settings",
            "key": "settings.json",
            "value": _b64('{"editor.fontSize": 20}'),
            "contentType": "application/json",
            "baseRevision": "0",
        },
    )
    assert plain.status_code == 200, plain.text
    (outcome,) = plain.json()["results"]
    assert outcome["outcome"] == "CHANGE_OUTCOME_CONFLICT"
    assert base64.b64decode(outcome["item"]["value"]) == b'{"editor.fontSize": 14}'

    item = _item(web, user, "settings", "settings.json")
    assert item.status_code == 200, item.text
    assert base64.b64decode(item.json()["value"]) == b'{"editor.fontSize": 14}'
    assert int(item.json()["revision"]) == revision

    # A disjoint edit based on the current revision applies; changes since the old cursor
    # list only what changed after it.
    second = _push(
        web,
        user,
        {
            "collection": "keybindings",
            "key": "keybindings.json",
            "value": _b64("[]"),
            "contentType": "application/json",
            "baseRevision": "0",
        },
        {
            "collection": "snippets",
            "key": "python.json",
            "value": _b64('{"p": 1}'),
            "contentType": "application/json",
            "baseRevision": "0",
        },
    )
    assert second.status_code == 200, second.text
    changes = web.get("/v1/sync/changes", headers=user.auth, params={"since": revision})
    assert changes.status_code == 200, changes.text
    body = changes.json()
    assert sorted(c["key"] for c in body["changes"]) == ["keybindings.json", "python.json"]
    assert int(body["cursor"]) == int(second.json()["latestRevision"])
    # ...and one collection at a time.
    only = web.get(
        "/v1/sync/changes", headers=user.auth, params={"since": 0, "collections": "snippets"}
    ).json()
    assert [c["key"] for c in only["changes"]] == ["python.json"]

    # Deleting leaves a tombstone that the next pull sees.
    deleted = _push(
        web,
        user,
        {
            "collection": "snippets",
            "key": "python.json",
            "deleted": True,
            "baseRevision": body["cursor"],
        },
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["results"][0]["outcome"] == "CHANGE_OUTCOME_APPLIED", deleted.text
    tomb = web.get("/v1/sync/changes", headers=user.auth, params={"since": body["cursor"]}).json()
    assert [(c["key"], c["deleted"]) for c in tomb["changes"]] == [("python.json", True)]
    assert _item(web, user, "snippets", "python.json").status_code == 404

    # Another user sees none of it.
    other = register(web, stack, "sync-other")
    assert _item(web, other, "settings", "settings.json").status_code == 404
    assert web.get("/v1/sync/changes", headers=other.auth).json()["changes"] == []


def _drop_watch(gateway: str, path: str, token: str, after: float) -> None:
    """Open a Watch stream as a browser would and vanish after ``after`` seconds: the socket is
    reset (SO_LINGER 0), not closed politely, so the gateway cancels the call mid-flight."""
    address = urlsplit(gateway)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        time.sleep(after)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_clients_dropping_watch_streams_at_any_moment_leave_sync_serving(
    web: httpx.Client, stack: RunningStack
) -> None:
    """A stream dropped during replay, while caught up, or as it fails once crashed sync in
    native code (the access log asked the released call for its peer)."""
    user = register(web, stack, "dropper")
    paths = [
        "/v1/sync:watch",
        "/v1/sync:watch?since=0",
        "/v1/sync:watch?heartbeatInterval=0.001s",
        "/v1/sync:watch?device=no-such-device&since=5",
        "/v1/sync:watch?collections=settings&generation=100",
    ]
    rng = random.Random(4)
    for _ in range(300):
        _drop_watch(
            stack.gateway_url, rng.choice(paths), user.access, rng.choice([0, 0, 0.005, 0.05])
        )
        assert stack.supervisor.exited() is None
    time.sleep(0.5)
    assert stack.supervisor.exited() is None
    assert web.get("/v1/sync/changes", headers=user.auth).status_code == 200


def _watch_until_caught_up(
    stack: RunningStack, user: WebUser, **headers: str
) -> list[tuple[str | None, dict]]:
    """(SSE id, event) pairs of a Watch stream up to its CAUGHT_UP event."""
    received: list[tuple[str | None, dict]] = []
    with (
        httpx.Client(base_url=stack.gateway_url, timeout=30) as client,
        client.stream(
            "GET", "/v1/sync:watch", headers={**user.auth, "accept": "text/event-stream", **headers}
        ) as stream,
    ):
        assert stream.status_code == 200, stream.read()
        event_id = None
        for line in stream.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data:"):
                event = json.loads(line[5:])
                received.append((event_id, event))
                event_id = None
                if event["type"] == "WATCH_EVENT_TYPE_CAUGHT_UP":
                    return received
    raise AssertionError(f"the stream ended before CAUGHT_UP: {received}")


def test_a_browser_reconnecting_with_last_event_id_resumes_after_it(
    web: httpx.Client, stack: RunningStack
) -> None:
    """EventSource reconnects by itself and sends the last `id:` it saw; the feed then replays
    only what came after it."""
    user = register(web, stack, "resume")

    def push(key: str) -> None:
        change = {"collection": "ui_state", "key": key, "value": _b64("{}"), "contentType": "x"}
        pushed = _push(web, user, change)
        assert pushed.status_code == 200, pushed.text

    push("first.json")
    seen = _watch_until_caught_up(stack, user)
    (last_id, event), *_ = [(i, e) for i, e in seen if e.get("changes")]
    assert [c["key"] for c in event["changes"]] == ["first.json"]
    assert last_id is not None and int(last_id) == int(event["cursor"])

    push("second.json")  # while the browser is away
    resumed = _watch_until_caught_up(stack, user, **{"last-event-id": last_id})
    assert [c["key"] for _, e in resumed for c in e.get("changes", [])] == ["second.json"]

    refused = web.get(
        "/v1/sync:watch", headers={**user.auth, "last-event-id": "not-an-id"}, timeout=10
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["details"][0]["metadata"]["field"] == "Last-Event-ID"


def test_watch_stream_receives_a_change_pushed_by_another_request(
    web: httpx.Client, stack: RunningStack
) -> None:
    user = register(web, stack, "watch")
    events: list[dict] = []
    caught_up = threading.Event()
    received = threading.Event()

    def follow() -> None:
        with (
            httpx.Client(base_url=stack.gateway_url, timeout=30) as client,
            client.stream(
                "GET",
                "/v1/sync:watch",
                headers={**user.auth, "accept": "text/event-stream"},
                params={"since": 0},
            ) as stream,
        ):
            assert stream.status_code == 200, stream.read()
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                events.append(event)
                if event["type"] == "WATCH_EVENT_TYPE_CAUGHT_UP":
                    caught_up.set()
                if any(c["key"] == "ui.json" for c in event.get("changes", [])):
                    received.set()
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert caught_up.wait(20), f"no CAUGHT_UP event: {events}"
    pushed = _push(
        web,
        user,
        {
            "collection": "ui_state",
            "key": "ui.json",
            "value": _b64('{"sidebar": "left"}'),
            "contentType": "application/json",
        },
    )
    assert pushed.status_code == 200, pushed.text
    assert received.wait(20), f"the pushed change did not arrive on the stream: {events}"
    reader.join(5)
    (change,) = [c for e in events for c in e.get("changes", []) if c["key"] == "ui.json"]
    assert base64.b64decode(change["value"]) == b'{"sidebar": "left"}'
    assert events[-1]["type"] == "WATCH_EVENT_TYPE_CHANGES"
    assert int(events[-1]["cursor"]) == int(pushed.json()["latestRevision"])


def test_devices_snapshots_and_reset(web: httpx.Client, stack: RunningStack) -> None:
    user = register(web, stack, "devices")
    config = web.get("/v1/sync/config", headers=user.auth)
    assert config.status_code == 200, config.text
    assert "settings" in config.json()["builtinCollections"]
    generation = config.json()["generation"]

    device = web.post(
        "/v1/sync/devices",
        headers=user.auth,
        json={"displayName": "Work laptop", "platform": "linux-x64"},
    )
    assert device.status_code == 200, device.text
    device_id = device.json()["uid"]
    renamed = web.patch(
        f"/v1/sync/devices/{device_id}", headers=user.auth, json={"displayName": "Home laptop"}
    )
    assert renamed.status_code == 200, renamed.text
    listed = web.get("/v1/sync/devices", headers=user.auth).json()["devices"]
    assert [(d["uid"], d["displayName"]) for d in listed] == [(device_id, "Home laptop")]

    pushed = _push(
        web,
        user,
        {
            "collection": "settings",
            "key": "settings.json",
            "value": _b64('{"theme": "dark"}'),
            "contentType": "application/json",
        },
        {
            "collection": "tasks",
            "key": "build.json",
            "value": _b64('{"cmd": "make"}'),
            "contentType": "application/json",
        },
    )
    assert pushed.status_code == 200, pushed.text

    snapshot = web.post(
        "/v1/sync/snapshots", headers=user.auth, json={"description": "before the experiment"}
    )
    assert snapshot.status_code == 200, snapshot.text
    assert snapshot.json()["itemCount"] == 2
    snapshot_id = snapshot.json()["uid"]

    reset = web.post("/v1/sync:reset", headers=user.auth, json={})
    assert reset.status_code == 200, reset.text
    assert reset.json()["generation"] == generation + 1
    assert reset.json()["snapshot"]["trigger"] == "SNAPSHOT_TRIGGER_BEFORE_RESET"
    after = web.get("/v1/sync/changes", headers=user.auth, params={"since": 0}).json()
    assert after["changes"] == [] and after["generation"] == generation + 1
    assert _item(web, user, "settings", "settings.json").status_code == 404
    # A client still on the old generation is told to resync.
    old = web.get(
        "/v1/sync/changes", headers=user.auth, params={"since": 0, "generation": generation}
    )
    assert old.status_code == 400, old.text
    assert "GENERATION_CHANGED" in old.text

    snapshots = web.get("/v1/sync/snapshots", headers=user.auth).json()["snapshots"]
    assert snapshot_id in [s["uid"] for s in snapshots]
    restored = web.post(f"/v1/sync/snapshots/{snapshot_id}:restore", headers=user.auth, json={})
    assert restored.status_code == 200, restored.text
    assert restored.json()["changedItems"] == 2
    item = _item(web, user, "settings", "settings.json")
    assert (
        item.status_code == 200 and base64.b64decode(item.json()["value"]) == b'{"theme": "dark"}'
    )

    removed = web.delete(f"/v1/sync/devices/{device_id}", headers=user.auth)
    assert removed.status_code == 200, removed.text
    assert web.get("/v1/sync/devices", headers=user.auth).json()["devices"] == []


def test_cli_sync_set_get_pull_push_status(
    web: httpx.Client, stack: RunningStack, cli: Cli
) -> None:
    user = register(web, stack, "sync-cli")
    cli.device_login(web, approver=user)

    out = cli.run(
        "sync", "set", "settings", "settings.json", '{"editor.fontSize": 14}', "--mergeable"
    )
    assert "synced: pushed 1" in out.stdout, out.stdout + out.stderr
    # The website sees it at once.
    item = _item(web, user, "settings", "settings.json")
    assert item.status_code == 200, item.text
    assert json.loads(base64.b64decode(item.json()["value"])) == {"editor.fontSize": 14}
    assert cli.run("sync", "get", "settings", "settings.json").stdout.strip() == (
        '{"editor.fontSize": 14}'
    )

    # A change made elsewhere (another device, through HTTP) arrives with `pull`.
    other = _push(
        web,
        user,
        {
            "collection": "keybindings",
            "key": "keybindings.json",
            "value": _b64('[{"key": "ctrl+s", "command": "save"}]'),
            "contentType": "application/json",
        },
    )
    assert other.status_code == 200, other.text
    pulled = cli.run("sync", "pull")
    assert pulled.stdout.startswith("pulled:"), pulled.stdout
    assert f"cursor {other.json()['latestRevision']}" in pulled.stdout, pulled.stdout
    got = cli.run("sync", "get", "keybindings", "keybindings.json")
    assert json.loads(got.stdout) == [{"key": "ctrl+s", "command": "save"}]

    # Offline edits queue locally and go out with `push`.
    cli.run("sync", "set", "snippets", "ada.json", '{"hello": "world"}', "--offline")
    status = json.loads(cli.run("sync", "status").stdout.split("\nconflict copy")[0])
    assert status["pending"] == 1, status
    assert _item(web, user, "snippets", "ada.json").status_code == 404
    pushed = cli.run("sync", "push")
    assert pushed.stdout.startswith("pushed 1,"), pushed.stdout
    assert "0 conflict copies" in pushed.stdout
    status = json.loads(cli.run("sync", "status").stdout.split("\nconflict copy")[0])
    assert status["pending"] == 0 and status["conflicts"] == 0, status
    item = _item(web, user, "snippets", "ada.json")
    assert item.status_code == 200
    assert base64.b64decode(item.json()["value"]) == b'{"hello": "world"}'

    # The CLI registered itself as a device of the account.
    devices = web.get("/v1/sync/devices", headers=user.auth).json()["devices"]
    assert status["device"] in [d["uid"] for d in devices], (status, devices)


def test_cli_sync_set_on_a_second_device_says_when_the_server_kept_its_value(
    web: httpx.Client, stack: RunningStack, cli: Cli
) -> None:
    """A second machine that never pulled sets a key the account already has. The default
    resolution keeps the server's value and stores the local one as a conflict copy — the
    user must be told, not shown "synced"."""
    user = register(web, stack, "sync-second")
    pushed = _push(
        web,
        user,
        {
            "collection": "settings",
            "key": "settings.json",
            "value": _b64('{"theme": "dark"}'),
            "contentType": "application/json",
        },
    )
    assert pushed.status_code == 200, pushed.text
    cli.device_login(web, approver=user)
    out = cli.run(
        "sync", "set", "settings", "settings.json", '{"theme": "light"}', "--mergeable", check=False
    )
    value = cli.run("sync", "get", "settings", "settings.json").stdout.strip()
    if value == '{"theme": "dark"}':
        text = out.stdout + out.stderr
        assert "conflict" in text.lower(), (
            "`symphony sync set` kept the server's value but reported success without "
            f"mentioning the conflict copy: {text!r}"
        )
        assert out.returncode != 0, "a script must see that its value did not become current"
        status = cli.run("sync", "status").stdout
        assert "conflict copy" in status and "settings/settings.json" in status, status
    else:
        assert value == '{"theme": "light"}', value
