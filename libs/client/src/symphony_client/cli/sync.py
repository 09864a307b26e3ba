"""`symphony sync status|get|set|pull|push|watch`: the offline-first sync cache from the shell.

Local commands (`get`, `set --offline`, `status`) work without a network. The cache lives in
`$SYMPHONY_HOME/sync/` (one file per server address) unless SYMPHONY_SYNC_CACHE names a file.
The token comes from
`--token`, then `SYMPHONY_TOKEN`, then the stored login (`symphony_client.credentials`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import grpc

from symphony_client.config import ClientConfig
from symphony_client.errors import error_reason
from symphony_client.sync import SyncEngine


def _cli_error(message: str) -> Exception:
    from symphony_client.cli import CliError

    return CliError(message)


def _token_source(args: argparse.Namespace, config: ClientConfig) -> Any:
    """`--token`, else SYMPHONY_TOKEN, else the stored sign-in (refreshed by
    `symphony_client.credentials` whenever it is about to expire, so `watch` outlives it)."""
    fixed = getattr(args, "token", None) or os.environ.get("SYMPHONY_TOKEN")
    if fixed:
        return str(fixed)

    async def stored() -> str:
        from symphony_client import credentials

        try:
            return await credentials.access_token(config)
        except Exception:  # auth unreachable: calls go out unauthenticated and say so
            return ""

    return stored


def _cache_path(config: ClientConfig) -> Any:
    """One cache per server (SYMPHONY_SYNC_CACHE overrides the file)."""
    if override := os.environ.get("SYMPHONY_SYNC_CACHE"):
        return Path(override)
    tag = hashlib.sha256(config.sync_address.encode()).hexdigest()[:12]
    return config.home / "sync" / f"cache-{tag}.db"


async def _engine(args: argparse.Namespace, config: ClientConfig) -> SyncEngine:
    return SyncEngine(
        _cache_path(config),
        config.sync_address,
        _token_source(args, config),
        device_name=f"symphony CLI on {platform.node()}"[:64],
        platform=f"{sys.platform}-{platform.machine()}".lower()[:64],
        call_timeout=10,
    )


def _explain(error: grpc.aio.AioRpcError) -> Exception:
    reason = error_reason(error)
    if error.code() == grpc.StatusCode.UNAVAILABLE:
        return _cli_error("the sync service is unreachable; local changes stay queued")
    if error.code() == grpc.StatusCode.UNAUTHENTICATED:
        return _cli_error(
            "not signed in: run `symphony auth login`, or pass --token / set SYMPHONY_TOKEN"
        )
    return _cli_error(f"{error.code().name} {reason}: {error.details()}")


async def _status(args: argparse.Namespace, config: ClientConfig) -> int:
    engine = await _engine(args, config)
    try:
        status = await engine.status()
        print(
            json.dumps(
                {**status, "cache": str(_cache_path(config)), "address": config.sync_address},
                indent=2,
            )
        )
        for conflict in await engine.conflicts():
            print(
                f"conflict copy #{conflict.id}: {conflict.collection}/{conflict.key} "
                f"({conflict.reason})"
            )
    finally:
        await engine.close()
    return 0


async def _get(args: argparse.Namespace, config: ClientConfig) -> int:
    engine = await _engine(args, config)
    try:
        if args.refresh:
            try:
                await engine.sync_once()
            except grpc.aio.AioRpcError as error:
                print(f"symphony: showing the local copy ({_explain(error)})", file=sys.stderr)
        value = await engine.get(args.collection, args.key)
    finally:
        await engine.close()
    if value is None:
        raise _cli_error(f"{args.collection}/{args.key} is not in the local cache")
    sys.stdout.buffer.write(value + (b"" if value.endswith(b"\n") else b"\n"))
    return 0


async def _set(args: argparse.Namespace, config: ClientConfig) -> int:
    if args.file:
        value = await asyncio.to_thread(Path(args.file).read_bytes)
    elif args.value is not None:
        value = args.value.encode()
    else:
        value = sys.stdin.buffer.read()
    engine = await _engine(args, config)
    try:
        try:
            if args.delete:
                await engine.delete(args.collection, args.key)
            else:
                await engine.set(args.collection, args.key, value, mergeable=args.mergeable)
        except ValueError as error:
            raise _cli_error(str(error)) from None
        if not args.offline:
            known = {c.id for c in await engine.conflicts()}
            try:
                result = await engine.sync_once()
                print(f"synced: pushed {result['pushed']}, pulled {result['pulled']}")
            except grpc.aio.AioRpcError as error:
                print(f"symphony: saved locally, not synced ({_explain(error)})", file=sys.stderr)
            # The default resolution keeps the server's value: say so rather than "synced".
            new = [
                c
                for c in await engine.conflicts()
                if c.id not in known and (c.collection, c.key) == (args.collection, args.key)
            ]
            for conflict in new:
                print(
                    f"symphony: conflict: the server already had a different "
                    f"{conflict.collection}/{conflict.key} (revision {conflict.server_revision}); "
                    f"it stays current and your value is kept as conflict copy #{conflict.id} "
                    "(see `symphony sync status`)",
                    file=sys.stderr,
                )
            if new:
                return 2
    finally:
        await engine.close()
    return 0


async def _pull(args: argparse.Namespace, config: ClientConfig) -> int:
    engine = await _engine(args, config)
    try:
        if not engine.generation or not engine.device:
            await engine.prepare()
        changed = await engine.pull()
        print(f"pulled: {changed} local values changed; cursor {engine.store.cursor}")
    except grpc.aio.AioRpcError as error:
        raise _explain(error) from None
    finally:
        await engine.close()
    return 0


async def _push(args: argparse.Namespace, config: ClientConfig) -> int:
    engine = await _engine(args, config)
    try:
        result = await engine.sync_once()
        conflicts = len(await engine.conflicts())
        print(f"pushed {result['pushed']}, pulled {result['pulled']}; {conflicts} conflict copies")
    except grpc.aio.AioRpcError as error:
        raise _explain(error) from None
    finally:
        await engine.close()
    return 0


async def _watch(args: argparse.Namespace, config: ClientConfig) -> int:
    engine = await _engine(args, config)
    task = engine.start()
    try:
        last = engine.store.cursor
        print(f"watching from cursor {last}; Ctrl-C stops", file=sys.stderr, flush=True)
        while not task.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await engine.changed.wait()
            engine.changed.clear()
            cursor = engine.store.cursor
            if cursor != last:
                # One line per item the server changed since the last cursor, in revision order.
                changed = [
                    i for i in await engine.items(include_deleted=True) if i.server_rev > last
                ]
                for item in sorted(changed, key=lambda i: i.server_rev):
                    what = "deleted" if item.deleted else "changed"
                    print(f"{item.collection}/{item.key} {what} (revision {item.server_rev})")
                sys.stdout.flush()
                last = cursor
        if engine.disabled:
            raise _cli_error("this device was disabled from another device")
    finally:
        await engine.close()
    return 0


def register(subparsers: Any) -> None:
    sync = subparsers.add_parser("sync", help="synced settings: local cache, push, pull, watch")
    commands = sync.add_subparsers(dest="sync_command", required=True, metavar="SUBCOMMAND")

    def command(name: str, handler: Any, help_: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_)
        parser.add_argument(
            "--token", help="access token (default: SYMPHONY_TOKEN or the stored login)"
        )
        parser.set_defaults(handler=handler)
        return parser

    command("status", _status, "the local cache: pending changes, cursor, conflict copies")
    get = command("get", _get, "print an item's value from the local cache")
    get.add_argument("collection")
    get.add_argument("key")
    get.add_argument("--refresh", action="store_true", help="sync first")
    set_ = command(
        "set", _set, "write an item locally, then sync (value from the argument, --file or stdin)"
    )
    set_.add_argument("collection")
    set_.add_argument("key")
    set_.add_argument("value", nargs="?")
    set_.add_argument("--file")
    set_.add_argument("--delete", action="store_true", help="delete the item instead")
    set_.add_argument(
        "--mergeable", action="store_true", help="a JSON object the server may merge per key"
    )
    set_.add_argument("--offline", action="store_true", help="only queue it locally")
    command("pull", _pull, "pull changes since the local cursor")
    command("push", _push, "push the local queue (then pull)")
    command("watch", _watch, "follow the live change feed until Ctrl-C")
