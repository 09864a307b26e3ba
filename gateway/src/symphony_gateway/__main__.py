"""`python -m symphony_gateway serve`: run the gateway under uvicorn (uvloop + httptools)."""

from __future__ import annotations

import argparse
import logging
import sys

from symphony_gateway.config import GatewaySettings
from symphony_gateway.log import configure_logging

log = logging.getLogger("symphony_gateway")


def app_factory() -> object:
    """Used by uvicorn (also in each worker process): settings from the environment."""
    from symphony_gateway.app import create_app
    from symphony_gateway.backends import Backends
    from symphony_gateway.openvsx import routes as openvsx_routes
    from symphony_gateway.packages import routes as package_routes

    settings = GatewaySettings()
    # Hand-written registry routes: raw package upload/download and the Open VSX API.
    return create_app(
        settings, Backends.from_env(), extra_routes=[*package_routes(), *openvsx_routes()]
    )


def serve(settings: GatewaySettings) -> None:
    import uvicorn

    log_config = configure_logging(settings.log_level)
    log.info(
        "gateway listening",
        extra={"url": f"http://{settings.bind}:{settings.port}", "workers": settings.workers},
    )
    uvicorn.run(
        "symphony_gateway.__main__:app_factory",
        factory=True,
        host=settings.bind,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=log_config,
        log_level=settings.log_level.lower(),
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="symphony_gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve HTTP/JSON on SYMPHONY_GATEWAY_BIND:PORT")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(GatewaySettings())
    return 0


if __name__ == "__main__":
    sys.exit(main())
