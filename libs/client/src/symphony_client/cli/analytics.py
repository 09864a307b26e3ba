"""`symphony analytics ...`: inspect the published event schema, send events through the local
buffer, and opt out or in."""

from __future__ import annotations

import argparse
import json
from typing import Any

import grpc
from google.protobuf import json_format

from symphony.analytics.v1 import analytics_service_pb2, analytics_service_pb2_grpc
from symphony_client.analytics import AnalyticsBuffer, env_opted_out
from symphony_client.cli import CliError
from symphony_client.config import ClientConfig


def _parse_property(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise CliError(f"properties are key=value, got {item!r}")
    if raw in ("true", "false"):
        return key, raw == "true"
    try:
        number = json.loads(raw)
    except ValueError:
        return key, raw
    return key, number if isinstance(number, int | float) and not isinstance(number, bool) else raw


async def _schema(args: argparse.Namespace, config: ClientConfig) -> int:
    from symphony_common.grpc.client import open_channel

    channel = open_channel(config.analytics_address)
    try:
        schema = await analytics_service_pb2_grpc.AnalyticsServiceStub(channel).GetEventSchema(
            analytics_service_pb2.GetEventSchemaRequest(version=args.version), timeout=10
        )
    except grpc.aio.AioRpcError as error:
        raise CliError(
            f"could not read the schema: {error.code().name}: {error.details()}"
        ) from None
    finally:
        await channel.close(None)
    if args.names:
        for event in schema.events:
            props = ", ".join(f"{p.name}{'' if p.required else '?'}" for p in event.properties)
            print(f"{event.name}({props})")
    else:
        print(json_format.MessageToJson(schema, preserving_proto_field_name=False, indent=2))
    return 0


async def _send(args: argparse.Namespace, config: ClientConfig) -> int:
    buffer = AnalyticsBuffer(config)
    try:
        event_id = buffer.record(args.event, dict(_parse_property(p) for p in args.properties))
        if event_id is None:
            print("analytics is turned off (opt-out); nothing recorded")
            return 0
        result = await buffer.flush()
    finally:
        await buffer.aclose()
    print(
        json.dumps(
            {
                "event_id": event_id,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
                "pending": result.remaining,
                "error": result.error,
            }
        )
    )
    return 0 if not result.error else 1


async def _flush(args: argparse.Namespace, config: ClientConfig) -> int:
    buffer = AnalyticsBuffer(config)
    try:
        result = await buffer.flush()
    finally:
        await buffer.aclose()
    print(json.dumps({"sent": result.sent, "pending": result.remaining, "error": result.error}))
    return 0 if not result.error else 1


def _status(args: argparse.Namespace, config: ClientConfig) -> int:
    buffer = AnalyticsBuffer(config)
    try:
        print(
            json.dumps(
                {
                    "opted_out": buffer.opted_out,
                    "opted_out_by_environment": env_opted_out(),
                    "install_id": buffer.install_id,
                    "pending": buffer.pending_count(),
                    "buffer": str(buffer.path),
                }
            )
        )
    finally:
        buffer.close()
    return 0


def _toggle(opt_out: bool):  # type: ignore[no-untyped-def]
    def handler(args: argparse.Namespace, config: ClientConfig) -> int:
        buffer = AnalyticsBuffer(config)
        try:
            buffer.set_opt_out(opt_out)
        finally:
            buffer.close()
        print("analytics turned off; unsent events deleted" if opt_out else "analytics turned on")
        return 0

    return handler


def _reset(args: argparse.Namespace, config: ClientConfig) -> int:
    buffer = AnalyticsBuffer(config)
    try:
        print(buffer.reset_install_id())
    finally:
        buffer.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("analytics", help="anonymous usage analytics")
    sub = parser.add_subparsers(dest="analytics_command", required=True, metavar="ACTION")
    schema = sub.add_parser("schema", help="print the published event schema")
    schema.add_argument(
        "--version", type=int, default=0, help="a schema version (default: current)"
    )
    schema.add_argument("--names", action="store_true", help="one line per event instead of JSON")
    schema.set_defaults(handler=_schema)
    send = sub.add_parser("send", help="record one event and flush the buffer")
    send.add_argument("event")
    send.add_argument("properties", nargs="*", metavar="KEY=VALUE")
    send.set_defaults(handler=_send)
    sub.add_parser("flush", help="send buffered events now").set_defaults(handler=_flush)
    sub.add_parser("status", help="opt-out state, install id and buffered events").set_defaults(
        handler=_status
    )
    sub.add_parser("opt-out", help="stop collecting and delete unsent events").set_defaults(
        handler=_toggle(True)
    )
    sub.add_parser("opt-in", help="allow anonymous analytics again").set_defaults(
        handler=_toggle(False)
    )
    sub.add_parser("reset-id", help="replace the anonymous install id").set_defaults(handler=_reset)
