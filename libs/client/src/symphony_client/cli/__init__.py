"""The `symphony` command line. Each area adds its commands from its own module
(`cli/auth.py`, `cli/sync.py`, `cli/registry.py`, `cli/analytics.py`) through `register`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence

from symphony_client.config import ClientConfig

AREAS = ("auth", "sync", "registry", "analytics")


class CliError(Exception):
    """A failure to report to the user as one line, with exit code 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symphony", description="Symphony Backbone command line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in AREAS:
        try:
            module = importlib.import_module(f"symphony_client.cli.{area}")
        except ModuleNotFoundError as error:
            if error.name == f"symphony_client.cli.{area}":
                continue  # that area has no commands yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = ClientConfig()
    try:
        result = args.handler(args, config)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except CliError as error:
        print(f"symphony: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
