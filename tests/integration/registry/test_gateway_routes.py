"""The gateway's hand-written registry routes against the real registry: raw upload and
download (Content-Length, ETag, X-Checksum-Sha256, Range), the Open VSX API shapes, and the
real `ovsx` CLI round trip (create-namespace, publish a .vsix built here, get it back)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from symphony.registry.v1 import resources_pb2 as pb
from symphony_gateway.app import create_app
from symphony_gateway.backends import Backends
from symphony_gateway.config import GatewaySettings
from symphony_gateway.openvsx import routes as openvsx_routes
from symphony_gateway.packages import routes as package_routes
from tests.integration.registry.conftest import RegistryHarness
from tests.integration.registry.vsix import build_vsix

ROOT = Path(__file__).resolve().parents[3]
NODE_PREFIX = ROOT / ".data" / "node"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def gateway(registry: RegistryHarness) -> AsyncIterator[str]:
    app = create_app(
        GatewaySettings(),
        Backends({"registry": registry.address}),
        extra_routes=[*package_routes(), *openvsx_routes()],
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _wait_visible(client: httpx.AsyncClient, url: str) -> httpx.Response:
    for _ in range(200):
        response = await client.get(url)
        if response.status_code == 200:
            return response
        await asyncio.sleep(0.05)
    return response


async def test_raw_upload_and_download(registry: RegistryHarness, gateway: str) -> None:
    ns = await registry.namespace("rita")
    data = build_vsix(ns, "raw", "1.0.0", files={"extension/blob.bin": os.urandom(2_500_000)})
    token = registry.signer.mint("rita", scopes=["registry.publish"])
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        response = await client.post(
            "/v1/publishing:upload", content=data, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["version"]["version"] == "1.0.0" and body["scan"]["name"].startswith(
            "publishing/scans/"
        )
        await registry.wait_scan(body["scan"]["name"], registry.token("rita"))
        url = f"/v1/namespaces/{ns}/extensions/raw/versions/1.0.0:download"
        got = await client.get(url)
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-length"] == str(len(data))
        assert got.headers["x-checksum-sha256"] == hashlib.sha256(data).hexdigest()
        etag = got.headers["etag"]
        part = await client.get(url, headers={"range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        tail = await client.get(url, headers={"range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == data[-10:]
        assert (
            await client.get(url, headers={"range": f"bytes={len(data) + 5}-"})
        ).status_code == 416
        assert (await client.get(url, headers={"if-none-match": etag})).status_code == 304
        missing = await client.get(f"/v1/namespaces/{ns}/extensions/raw/versions/9.9.9:download")
        assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
        # Bad package: 400 with the reason; anonymous: 401.
        bad = await client.post(
            "/v1/publishing:upload", content=b"nope", headers={"authorization": f"Bearer {token}"}
        )
        assert bad.status_code == 400 and "PACKAGE_NOT_ZIP" in bad.text
        anon = await client.post("/v1/publishing:upload", content=data)
        assert anon.status_code == 401, anon.text


async def test_openvsx_shapes(registry: RegistryHarness, gateway: str) -> None:
    ns = await registry.namespace("sam")
    await registry.publish(build_vsix(ns, "shape", "1.0.0", keywords=["alpha"]), "sam")
    await registry.publish(
        build_vsix(
            ns,
            "shape",
            "1.1.0",
            keywords=["alpha"],
            files={"extension/dist/web.js": "activate()\n"},
        ),
        "sam",
    )
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        ext = (await client.get(f"/api/{ns}/shape")).json()
        assert ext["namespace"] == ns and ext["name"] == "shape" and ext["version"] == "1.1.0"
        assert ext["targetPlatform"] == "universal" and "latest" in ext["versionAlias"]
        assert set(ext["allVersions"]) >= {"latest", "1.1.0", "1.0.0"}
        assert ext["files"]["download"].endswith(
            f"/api/{ns}/shape/1.1.0/file/{ns}.shape-1.1.0.vsix"
        )
        old = (await client.get(f"/api/{ns}/shape/1.0.0")).json()
        assert old["version"] == "1.0.0"
        assert (await client.get(f"/api/{ns}/shape/linux-x64")).json()["version"] == "1.1.0"
        versions = (await client.get(f"/api/{ns}/shape/versions")).json()
        assert list(versions["versions"]) == ["1.1.0", "1.0.0"]
        namespace = (await client.get(f"/api/{ns}")).json()
        assert namespace["name"] == ns and "shape" in namespace["extensions"]
        web = await client.get(f"/api/{ns}/shape/1.1.0/file/extension/dist/web.js")
        assert web.status_code == 200 and web.text == "activate()\n"
        assert "javascript" in web.headers["content-type"]
        absent = await client.get(f"/api/{ns}/shape/1.1.0/file/extension/dist/absent.js")
        assert absent.status_code == 404 and "error" in absent.json()
        readme = await client.get(f"/api/{ns}/shape/1.1.0/file/README.md")
        assert readme.status_code == 200 and readme.text.startswith("# Hello")
        manifest = (await client.get(f"/api/{ns}/shape/1.1.0/file/package.json")).json()
        assert manifest["version"] == "1.1.0"
        found = (await client.get("/api/-/search", params={"query": f"{ns}.shape"})).json()
        assert found["extensions"][0]["name"] == "shape" and found["totalSize"] >= 1
        queried = (
            await client.get(
                "/api/-/query", params={"extensionId": f"{ns}.shape", "extensionVersion": "1.0.0"}
            )
        ).json()
        assert queried["extensions"][0]["version"] == "1.0.0"
        assert (await client.get(f"/api/{ns}/shape/reviews")).json()["reviews"] == []
        key_url = ext["files"]["publicKey"]
        pem = await client.get(key_url.replace(gateway, ""))
        assert pem.text.startswith("-----BEGIN PUBLIC KEY-----")
        missing = await client.get(f"/api/{ns}/nothing")
        assert missing.status_code == 404 and "error" in missing.json()


async def test_openvsx_review_posting_and_deleting_ones_own(
    registry: RegistryHarness, gateway: str
) -> None:
    ns = await registry.namespace("sam")
    name = f"critique{uuid.uuid4().hex[:8]}"  # a name like another one would be quarantined
    _, scan = await registry.publish(build_vsix(ns, name, "1.0.0"), "sam")
    assert scan.state == pb.SCAN_STATE_PASSED
    rita, otto = dict(registry.token("rita")), dict(registry.token("otto"))
    reviews_url = f"/api/{ns}/{name}/reviews"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        anonymous = await client.post(f"/api/{ns}/{name}/review", json={"rating": 5})
        assert anonymous.status_code == 401 and "error" in anonymous.json()
        for bad in ({"rating": "five"}, {"rating": True}, {"rating": 9}, [1]):
            refused = await client.post(f"/api/{ns}/{name}/review", json=bad, headers=rita)
            assert refused.status_code == 400 and "error" in refused.json(), bad
        posted = await client.post(
            f"/api/{ns}/{name}/review",
            json={"rating": 4, "comment": "Solid work\nwith a second line"},
            headers=rita,
        )
        assert posted.json() == {"success": f"Added review for {ns}.{name}"}
        listed = (await client.get(reviews_url)).json()["reviews"]
        assert [(r["rating"], r["title"], r["user"]["loginName"]) for r in listed] == [
            (4, "Solid work", "rita")
        ]
        again = await client.post(f"/api/{ns}/{name}/review", json={"rating": 1}, headers=rita)
        assert again.status_code == 409
        assert len((await client.get(reviews_url)).json()["reviews"]) == 1
        # Deleting takes the caller's own review: Otto has none, Rita's stays.
        none = await client.post(f"/api/{ns}/{name}/review/delete", headers=otto)
        assert none.status_code == 400
        assert len((await client.get(reviews_url)).json()["reviews"]) == 1
        deleted = await client.post(f"/api/{ns}/{name}/review/delete", headers=rita)
        assert deleted.json() == {"success": f"Deleted review for {ns}.{name}"}
        assert (await client.get(reviews_url)).json()["reviews"] == []


def _ovsx_bin() -> Path | None:
    if shutil.which("npm") is None:
        return None
    binary = NODE_PREFIX / "node_modules" / ".bin" / "ovsx"
    if not binary.exists():
        import subprocess

        subprocess.run(
            ["npm", "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund", "ovsx"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return binary


async def _run(*argv: str, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "OVSX_PAT": ""},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(errors="replace")


async def test_ovsx_round_trip(registry: RegistryHarness, gateway: str, tmp_path: Path) -> None:
    binary = await asyncio.to_thread(_ovsx_bin)
    if binary is None:
        pytest.skip("npm is not installed")
    pat = registry.auth.new_pat("vera", ["registry.publish"])
    ns = "ovsx" + os.urandom(4).hex()
    code, out = await _run(
        str(binary), "create-namespace", ns, "-p", pat, "-r", gateway, cwd=tmp_path
    )
    assert code == 0, out
    package = tmp_path / "ext.vsix"
    data = build_vsix(ns, "roundtrip", "1.2.3", displayName="Round Trip")
    package.write_bytes(data)
    code, out = await _run(
        str(binary), "publish", str(package), "-p", pat, "-r", gateway, cwd=tmp_path
    )
    assert code == 0 and "Published" in out, out
    async with httpx.AsyncClient(base_url=gateway) as client:
        assert (await _wait_visible(client, f"/api/{ns}/roundtrip")).status_code == 200
    code, out = await _run(
        str(binary), "publish", str(package), "-p", pat, "-r", gateway, cwd=tmp_path
    )
    assert code != 0, out  # the same version twice is refused
    out_dir = tmp_path / "downloads"
    out_dir.mkdir()
    code, out = await _run(
        str(binary),
        "get",
        f"{ns}.roundtrip",
        "-r",
        gateway,
        "-o",
        str(out_dir) + os.sep,
        cwd=tmp_path,
    )
    assert code == 0, out
    assert (out_dir / f"{ns}.roundtrip-1.2.3.vsix").read_bytes() == data
    code, out = await _run(
        str(binary), "get", f"{ns}.roundtrip", "--metadata", "-r", gateway, cwd=tmp_path
    )
    assert code == 0 and json.loads(out)["version"] == "1.2.3", out
    # A token of another user cannot publish to this namespace.
    other = registry.auth.new_pat("walt", ["registry.publish"])
    package.write_bytes(build_vsix(ns, "roundtrip", "1.2.4"))
    code, out = await _run(
        str(binary), "publish", str(package), "-p", other, "-r", gateway, cwd=tmp_path
    )
    assert code != 0, out
