"""`symphony sync ...` as a user runs it: a subprocess against the real service."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def cli(
    home: Path, address: str, token: str, *args: str, stdin: bytes = b""
) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "SYMPHONY_HOME": str(home),
        "SYMPHONY_SYNC_ADDRESS": address,
        "SYMPHONY_TOKEN": token,
        "SYMPHONY_SYNC_CACHE": str(home / "cache.db"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "symphony_client.cli",
        "sync",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_set_get_push_pull_status(sync_server, tmp_path: Path) -> None:
    user = f"cli-{uuid.uuid4().hex[:8]}"
    token = sync_server.token(user)
    code, out, err = await cli(
        tmp_path / "a", sync_server.address, token, "set", "settings", "editor", '{"fontSize": 13}'
    )
    assert code == 0, err
    assert "pushed 1" in out
    code, out, _ = await cli(tmp_path / "b", sync_server.address, token, "pull")
    assert code == 0 and "cursor 1" in out
    code, out, _ = await cli(
        tmp_path / "b", sync_server.address, token, "get", "settings", "editor"
    )
    assert code == 0 and out.strip() == '{"fontSize": 13}'
    # Offline: the write is queued locally and readable; status shows it pending.
    code, _, err = await cli(tmp_path / "b", "127.0.0.1:1", token, "set", "tasks", "t", "v")
    assert code == 0 and "saved locally, not synced" in err
    code, out, _ = await cli(tmp_path / "b", "127.0.0.1:1", token, "status")
    assert '"pending": 1' in out
    code, out, err = await cli(tmp_path / "b", "127.0.0.1:1", token, "push")
    assert code == 1 and "unreachable" in err
    code, out, err = await cli(tmp_path / "b", sync_server.address, token, "push")
    assert code == 0 and "pushed 1" in out, err
    code, _, err = await cli(tmp_path / "b", sync_server.address, "", "push")
    assert code == 1
    code, _, err = await cli(tmp_path / "b", sync_server.address, token, "get", "tasks", "missing")
    assert code == 1 and "not in the local cache" in err


async def test_cli_watch_names_each_change_another_device_makes(
    sync_server, tmp_path: Path
) -> None:
    token = sync_server.token(f"cli-{uuid.uuid4().hex[:8]}")
    env = {
        **os.environ,
        "SYMPHONY_HOME": str(tmp_path / "watcher"),
        "SYMPHONY_SYNC_ADDRESS": sync_server.address,
        "SYMPHONY_TOKEN": token,
        "SYMPHONY_SYNC_CACHE": str(tmp_path / "watcher" / "cache.db"),
    }
    watch = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "symphony_client.cli", "sync", "watch"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert watch.stderr is not None and watch.stdout is not None
        started = await asyncio.wait_for(watch.stderr.readline(), 60)
        assert b"watching from cursor 0" in started
        writer = tmp_path / "writer"
        code, _, err = await cli(writer, sync_server.address, token, "set", "snippets", "a", "x")
        assert code == 0, err
        line = await asyncio.wait_for(watch.stdout.readline(), 60)
        assert line.decode().strip() == "snippets/a changed (revision 1)"
        code, _, err = await cli(
            writer, sync_server.address, token, "set", "snippets", "a", "--delete"
        )
        assert code == 0, err
        line = await asyncio.wait_for(watch.stdout.readline(), 60)
        assert line.decode().strip() == "snippets/a deleted (revision 2)"
    finally:
        watch.terminate()
        await watch.wait()
