"""`symphony publish <file.vsix>`, `symphony search <words>`, `symphony get <ns.ext>[@version]`.

The token comes from `--token`, else `SYMPHONY_TOKEN`, else the stored credentials of
`symphony login` (symphony_client.credentials)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import grpc

from symphony_client import credentials
from symphony_client.auth import AuthError
from symphony_client.cli import CliError
from symphony_client.config import ClientConfig
from symphony_client.registry import RegistryClient, TamperedPackage, parse_extension_ref

SCAN_STATE_NAMES = {
    1: "STARTED",
    2: "VALIDATING",
    3: "SCANNING",
    4: "PASSED",
    5: "QUARANTINED",
    6: "REJECTED",
    7: "ERRORED",
}


def register(subparsers: Any) -> None:
    publish = subparsers.add_parser("publish", help="publish a .vsix package")
    publish.add_argument("file", type=Path)
    publish.add_argument("--target", default="", help="target platform (default: from the package)")
    publish.add_argument("--pre-release", action="store_true", default=None)
    publish.add_argument("--no-wait", action="store_true", help="do not wait for the checks")
    publish.add_argument("--token", default="")
    publish.set_defaults(handler=publish_command)

    search = subparsers.add_parser("search", help="search extensions")
    search.add_argument("words", nargs="+")
    search.add_argument("--limit", type=int, default=20)
    search.set_defaults(handler=search_command)

    get = subparsers.add_parser("get", help="download and verify an extension")
    get.add_argument("ref", help="namespace.extension[@version]")
    get.add_argument("--target", default="")
    get.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="file or folder to write (default: the current folder)",
    )
    get.add_argument("--token", default="")
    get.set_defaults(handler=get_command)


async def resolve_token(args: argparse.Namespace, config: ClientConfig) -> str:
    """`--token`, else SYMPHONY_TOKEN, else the stored sign-in (refreshed when about to expire);
    "" when signed out."""
    if getattr(args, "token", ""):
        return str(args.token)
    if os.environ.get("SYMPHONY_TOKEN"):
        return os.environ["SYMPHONY_TOKEN"]
    try:
        return await credentials.access_token(config)
    except AuthError as error:
        raise CliError(f"could not refresh the stored sign-in: {error}") from None


def _error(error: grpc.aio.AioRpcError) -> CliError:
    return CliError(f"{error.code().name}: {error.details()}")


async def publish_command(args: argparse.Namespace, config: ClientConfig) -> int:
    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file")
    token = await resolve_token(args, config)
    if not token:
        raise CliError("not signed in: run `symphony login`, or pass --token / set SYMPHONY_TOKEN")
    async with RegistryClient(config.registry_address, token) as client:
        try:
            version, scan = await client.publish(
                args.file,
                target_platform=args.target,
                pre_release=args.pre_release,
                wait=not args.no_wait,
            )
        except grpc.aio.AioRpcError as error:
            raise _error(error) from None
    state = SCAN_STATE_NAMES.get(scan.state, str(scan.state))
    print(f"{version.name} ({version.target_platform}): {state}")
    for finding in scan.findings:
        where = (
            f" {finding.file}" + (f":{finding.line}" if finding.line else "")
            if finding.file
            else ""
        )
        print(f"  {finding.reason}{where}: {finding.message}\n    fix: {finding.remedy}")
    return 0 if scan.state in (1, 2, 3, 4) else 2


async def search_command(args: argparse.Namespace, config: ClientConfig) -> int:
    async with RegistryClient(config.registry_address) as client:
        try:
            result = await client.search(" ".join(args.words), page_size=args.limit)
        except grpc.aio.AioRpcError as error:
            raise _error(error) from None
    for r in result.results:
        ext = r.extension
        latest = ext.latest_version.version if ext.HasField("latest_version") else "-"
        print(f"{ext.extension_id:40} {latest:12} {ext.display_name}")
    if not result.results:
        print("no extensions found")
    return 0


async def get_command(args: argparse.Namespace, config: ClientConfig) -> int:
    try:
        namespace, extension, version = parse_extension_ref(args.ref)
    except ValueError as error:
        raise CliError(str(error)) from None
    token = await resolve_token(args, config)
    async with RegistryClient(config.registry_address, token) as client:
        try:
            package = await client.download(
                namespace, extension, version, target_platform=args.target
            )
        except TamperedPackage as error:
            raise CliError(f"refused: {error}") from None
        except grpc.aio.AioRpcError as error:
            raise _error(error) from None
    target = args.output or Path.cwd()
    if target.is_dir():
        target = target / package.file_name
    target.write_bytes(package.data)
    print(f"{target} ({len(package.data)} bytes, signature verified)")
    return 0
