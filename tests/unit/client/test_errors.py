"""The clients read a server error's reason and retry hint from the same trailer the services
write (`symphony_common.grpc.status`), and the sync engine's first retry follows the hint."""

from __future__ import annotations

from pathlib import Path

import grpc

from symphony_client.errors import ErrorDetails, details_of, error_reason
from symphony_client.sync.engine import SyncEngine
from symphony_common.errors import Unavailable, not_found
from symphony_common.grpc.status import domain_error_status, to_grpc_status


def rpc_error(status) -> grpc.aio.AioRpcError:
    """The error a grpc.aio client raises for this status (what the server's abort sends)."""
    wire = to_grpc_status(status)
    return grpc.aio.AioRpcError(
        wire.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*wire.trailing_metadata),
        details=wire.details,
    )


def shutting_down() -> grpc.aio.AioRpcError:
    error = Unavailable("SHUTTING_DOWN", "this replica is stopping", retry_after_seconds=0.0)
    return rpc_error(domain_error_status(error, "sync.symphony.dev"))


def test_reason_and_retry_hint_are_read_from_the_status_trailer() -> None:
    assert details_of(shutting_down()) == ErrorDetails("SHUTTING_DOWN", 0.0)
    missing = rpc_error(domain_error_status(not_found("item", "x"), "sync.symphony.dev"))
    assert details_of(missing) == ErrorDetails("ITEM_NOT_FOUND", None)
    assert error_reason(missing) == "ITEM_NOT_FOUND"


def test_an_error_without_details_has_neither() -> None:
    bare = grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(("grpc-status-details-bin", b"\xff not a status")),
    )
    assert details_of(bare) == ErrorDetails()


def test_a_draining_replica_is_left_at_once_then_backoff_resumes(tmp_path: Path) -> None:
    engine = SyncEngine(tmp_path / "cache.db", "127.0.0.1:1", lambda: "t", retry_initial=0.5)
    try:
        first = engine.retry_delay(0, shutting_down())  # the server's 0 s
        second = engine.retry_delay(1, shutting_down())  # then exponential, jittered
        other = engine.retry_delay(0, rpc_error(domain_error_status(not_found("x", "y"), "d")))
    finally:
        engine.store.close()
    assert first == 0.0
    assert 0.5 <= second <= 1.0
    assert 0.25 <= other <= 0.5
