import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from symphony_common.testing import start_echo_server
from symphony_gateway.app import create_app
from symphony_gateway.backends import Backends
from symphony_gateway.config import GatewaySettings


@pytest_asyncio.fixture(scope="session")
async def echo_port() -> AsyncIterator[int]:
    server, port = await start_echo_server()
    yield port
    await server.stop(None)


def make_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("10.1.2.3", 5555)), base_url="http://gateway"
    )


@pytest.fixture(scope="session")
def settings() -> GatewaySettings:
    return GatewaySettings(
        max_body_bytes=4096,
        cors_origins=["https://symphony.example"],
        trusted_proxies=["10.0.0.0/8"],
    )


@pytest_asyncio.fixture(scope="session")
async def gateway(echo_port, settings) -> AsyncIterator[httpx.AsyncClient]:
    backends = Backends({"testing": f"127.0.0.1:{echo_port}"})
    app = create_app(settings, backends)
    async with make_client(app) as client:
        yield client
    await backends.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def client_for():
    """`async with client_for(app) as client`: an httpx client on the app (peer 10.1.2.3)."""
    return make_client
