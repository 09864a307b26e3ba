"""`symphony login` (device flow), `symphony logout`, `symphony whoami`, `symphony token create`."""

from __future__ import annotations

import argparse
import contextlib
import platform
import socket

from symphony_client.auth import AuthClient, AuthError, DeviceLoginDenied
from symphony_client.cli import CliError
from symphony_client.config import ClientConfig
from symphony_client.credentials import CredentialStore, current_tokens


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    login = subparsers.add_parser("login", help="sign in with your browser (device code)")
    login.set_defaults(handler=login_command)
    logout = subparsers.add_parser("logout", help="sign out and forget the stored tokens")
    logout.set_defaults(handler=logout_command)
    whoami = subparsers.add_parser("whoami", help="show the signed-in account")
    whoami.set_defaults(handler=whoami_command)
    token = subparsers.add_parser("token", help="personal access tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a personal access token (shown once)")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        help=(
            "registry.publish, registry.publish:<namespace>, sync.read, sync.write, analytics.read"
        ),
    )
    create.add_argument("--name", default="symphony CLI")
    create.add_argument(
        "--days", type=int, default=0, help="lifetime in days (default 90, at most 365)"
    )
    create.set_defaults(handler=token_create_command)


def _fail(error: AuthError) -> CliError:
    return CliError(f"{error.reason or error.code.name}: {error}")


async def login_command(args: argparse.Namespace, config: ClientConfig) -> int:
    client = AuthClient.connect(config.auth_address)
    try:
        start = await client.start_device_login(
            device_name=f"symphony CLI on {socket.gethostname()}"[:100],
            platform=f"{platform.system().lower()}-{platform.machine().lower()}"[:50],
        )
        print(f"Open {start.verification_uri} and enter the code {start.user_code}")
        print(f"(or open {start.verification_uri_complete})")
        tokens = await client.wait_for_device_login(start)
    except DeviceLoginDenied:
        raise CliError("the sign-in was denied") from None
    except AuthError as error:
        raise _fail(error) from None
    CredentialStore(config.home).save(tokens)
    user = await client.me(tokens.access_token)
    print(f"Signed in as {user.email or user.display_name}")
    return 0


async def logout_command(args: argparse.Namespace, config: ClientConfig) -> int:
    store = CredentialStore(config.home)
    tokens = store.load()
    if tokens is not None:
        with contextlib.suppress(AuthError):  # the stored session is forgotten either way
            await AuthClient.connect(config.auth_address).logout(refresh_token=tokens.refresh_token)
    store.clear()
    print("Signed out")
    return 0


async def whoami_command(args: argparse.Namespace, config: ClientConfig) -> int:
    try:
        tokens = await current_tokens(config)
        if tokens is None:
            raise CliError("not signed in; run `symphony login`")
        user = await AuthClient.connect(config.auth_address).me(tokens.access_token)
    except AuthError as error:
        raise _fail(error) from None
    print(f"{user.email}\t{user.display_name}\t{user.name}")
    return 0


async def token_create_command(args: argparse.Namespace, config: ClientConfig) -> int:
    try:
        tokens = await current_tokens(config)
        if tokens is None:
            raise CliError("not signed in; run `symphony login`")
        pat = await AuthClient.connect(config.auth_address).create_token(
            tokens.access_token,
            args.name,
            args.scope,
            ttl_seconds=args.days * 86400 if args.days else None,
        )
    except AuthError as error:
        raise _fail(error) from None
    print(pat.token)
    print(f"expires {pat.expire_time.ToDatetime():%Y-%m-%d}; it is shown only once", flush=True)
    return 0
