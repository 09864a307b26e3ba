"""symphony_client's registry client and the `symphony publish|search|get` commands against
the real service; a tampered package is refused."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from symphony_client.cli import CliError, build_parser
from symphony_client.config import ClientConfig
from symphony_client.registry import RegistryClient, TamperedPackage, verify_package
from tests.integration.registry.conftest import RegistryHarness
from tests.integration.registry.vsix import build_vsix


def _rezip(data: bytes, path: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, content if info.filename == path else src.read(info))
    return out.getvalue()


async def test_client_round_trip_and_tamper_detection(registry: RegistryHarness) -> None:
    ns = await registry.namespace("nia")
    token = registry.signer.mint("nia", scopes=["registry.publish"])
    data = build_vsix(
        ns, "client", "2.0.0", files={"extension/out/lib.js": os.urandom(1_500_000).hex()}
    )
    async with RegistryClient(registry.address, token) as client:
        version, scan = await client.publish(data)
        assert scan.state == 4 and version.version == "2.0.0"
        package = await client.download(ns, "client")
        assert package.data == data and package.manifest["version"] == "2.0.0"
        keys = await client.public_keys()
    sig = package.metadata.signature
    # Flip one byte of one file (re-zipped so the archive stays valid): refused.
    tampered = _rezip(data, "extension/out/extension.js", b"exports.activate = () => 'evil';\n")
    with pytest.raises(TamperedPackage):
        verify_package(tampered, sig, keys)
    flipped = bytearray(data)
    flipped[100] ^= 1
    with pytest.raises(TamperedPackage):
        verify_package(bytes(flipped), sig, keys)
    forged = type(sig)()
    forged.CopyFrom(sig)
    forged.manifest = sig.manifest.replace(
        hashlib.sha256(data).hexdigest().encode(), hashlib.sha256(tampered).hexdigest().encode()
    )
    with pytest.raises(TamperedPackage):
        verify_package(tampered, forged, keys)


async def test_cli_publish_search_get(
    registry: RegistryHarness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ns = await registry.namespace("otto")
    file = tmp_path / "pkg.vsix"
    file.write_bytes(build_vsix(ns, "clitool", "1.0.0", displayName="CLI Tool"))
    monkeypatch.setenv("SYMPHONY_REGISTRY_ADDRESS", registry.address)
    monkeypatch.setenv("SYMPHONY_TOKEN", registry.signer.mint("otto", scopes=["registry.publish"]))
    config = ClientConfig()
    parser = build_parser()

    async def run(*argv: str) -> int:
        args = parser.parse_args(list(argv))
        return await args.handler(args, config)

    assert await run("publish", str(file)) == 0
    assert "PASSED" in capsys.readouterr().out
    assert await run("search", f"{ns}.clitool") == 0
    assert f"{ns}.clitool" in capsys.readouterr().out
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert await run("get", f"{ns}.clitool@1.0.0", "-o", str(out_dir)) == 0
    assert (out_dir / f"{ns}.clitool-1.0.0.vsix").read_bytes() == file.read_bytes()
    with pytest.raises(CliError):
        await run("get", "not-an-id")
    monkeypatch.setenv(
        "SYMPHONY_TOKEN", registry.signer.mint("stranger", scopes=["registry.publish"])
    )
    with pytest.raises(CliError, match="PERMISSION_DENIED"):
        await run("publish", str(file))
