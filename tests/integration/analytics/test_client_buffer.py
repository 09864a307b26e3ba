"""The editor's analytics buffer against the real server: durable buffering, retries with the
same ids, opt-out, and the `symphony analytics` commands."""

from __future__ import annotations

import asyncio
import json

import grpc
import psycopg

from symphony.analytics.v1 import analytics_service_pb2 as spb
from symphony_client.analytics import AnalyticsBuffer
from symphony_client.cli import main as cli_main
from symphony_client.config import ClientConfig


def config(tmp_path, analytics) -> ClientConfig:
    return ClientConfig(analytics_address=f"127.0.0.1:{analytics.port}", home=tmp_path)


def stored_ids(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT event_id::text FROM analytics.events")}


async def test_unacknowledged_batches_survive_a_restart_and_are_resent_with_the_same_ids(
    tmp_path, analytics, analytics_url, stub, clean
) -> None:
    lost_answers = 0

    async def flaky_send(request: spb.BatchIngestEventsRequest):
        nonlocal lost_answers
        answer = await stub.BatchIngestEvents(request)
        if lost_answers < 2:  # stored, but the answer never reaches the editor
            lost_answers += 1
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details="connection reset",
            )
        return answer

    buffer = AnalyticsBuffer(config(tmp_path, analytics), send=flaky_send, batch_events=50)
    ids = [buffer.record("file_opened", {"language": "python"}) for _ in range(120)]
    assert (await buffer.flush()).error == "UNAVAILABLE"
    buffer.close()
    # A new editor process finds the same events in its buffer and sends them again.
    reopened = AnalyticsBuffer(config(tmp_path, analytics), send=flaky_send, batch_events=50)
    assert reopened.pending_ids() == ids
    assert (await reopened.flush()).error == "UNAVAILABLE"
    result = await reopened.flush()
    assert result.error == "" and result.remaining == 0
    assert result.duplicates == 50  # the first, unacknowledged batch was stored once already
    reopened.close()
    assert stored_ids(analytics_url) == set(ids)


async def test_opt_out_stops_recording_and_deletes_unsent(tmp_path, analytics, monkeypatch) -> None:
    buffer = AnalyticsBuffer(config(tmp_path, analytics))
    buffer.record("editor_started")
    first_id = buffer.install_id
    buffer.set_opt_out(True)
    assert buffer.pending_count() == 0 and buffer.record("editor_started") is None
    buffer.set_opt_out(False)
    assert buffer.record("editor_started") is not None
    assert buffer.reset_install_id() != first_id
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert buffer.opted_out and buffer.record("editor_started") is None
    buffer.close()


async def test_cli_commands(tmp_path, analytics, analytics_url, monkeypatch, capsys) -> None:
    async def cli(*argv: str) -> int:
        # The CLI runs its own event loop; the server needs this one, so run it in a thread.
        return await asyncio.to_thread(cli_main, list(argv))

    monkeypatch.setenv("SYMPHONY_HOME", str(tmp_path))
    monkeypatch.setenv("SYMPHONY_ANALYTICS_ADDRESS", f"127.0.0.1:{analytics.port}")
    assert await cli("analytics", "schema", "--names") == 0
    assert "extension_installed(extension, extension_version, source?)" in capsys.readouterr().out
    assert await cli("analytics", "send", "file_opened", "language=rust") == 0
    sent = json.loads(capsys.readouterr().out)
    assert sent["accepted"] == 1 and sent["event_id"] in stored_ids(analytics_url)
    assert await cli("analytics", "send", "file_opened", "language=has space") == 0
    assert json.loads(capsys.readouterr().out)["rejected"] == 1
    assert await cli("analytics", "opt-out") == 0
    capsys.readouterr()
    assert await cli("analytics", "send", "file_opened", "language=rust") == 0
    assert "nothing recorded" in capsys.readouterr().out
    assert await cli("analytics", "status") == 0
    assert json.loads(capsys.readouterr().out)["opted_out"] is True
