"""Typed async client of the registry: publish (chunked upload, ≤ 1 MiB per message), search,
and download with verification — the registry's Ed25519 signature over the package manifest,
then the package's and every entry's size and SHA-256. A tampered package is refused."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import registry_service_pb2_grpc
from symphony.registry.v1 import resources_pb2 as pb

CHUNK = 1024 * 1024
FINAL_STATES = (
    pb.SCAN_STATE_PASSED,
    pb.SCAN_STATE_QUARANTINED,
    pb.SCAN_STATE_REJECTED,
    pb.SCAN_STATE_ERRORED,
)


class TamperedPackage(Exception):
    """The downloaded bytes do not match what the registry signed."""


@dataclass
class DownloadedPackage:
    data: bytes
    metadata: spb.DownloadMetadata
    manifest: dict[str, Any]

    @property
    def file_name(self) -> str:
        return self.metadata.file_name


def parse_extension_ref(ref: str) -> tuple[str, str, str]:
    """`namespace.extension[@version]` → (namespace, extension, version or 'latest')."""
    ident, _, version = ref.partition("@")
    namespace, dot, extension = ident.partition(".")
    if not dot or not namespace or not extension:
        raise ValueError(f"expected namespace.extension[@version], got {ref!r}")
    return namespace, extension, version or "latest"


def verify_package(
    data: bytes, signature: pb.PackageSignature, public_keys: dict[str, bytes]
) -> dict[str, Any]:
    """Checks the signature, then the package, then every entry; returns the signed manifest."""
    key = public_keys.get(signature.key)
    if key is None:
        raise TamperedPackage(f"unknown signing key {signature.key!r}")
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature.signature, signature.manifest)
    except (InvalidSignature, ValueError):
        raise TamperedPackage("the registry's signature does not verify") from None
    manifest = json.loads(signature.manifest)
    if manifest.get("package") != {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}:
        raise TamperedPackage("the package's size or SHA-256 differs from the signed manifest")
    expected = {e["path"]: (e["size"], e["sha256"]) for e in manifest.get("entries", [])}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            actual = {}
            for info in archive.infolist():
                if info.is_dir():
                    continue
                content = archive.read(info)
                actual[info.filename] = (len(content), hashlib.sha256(content).hexdigest())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise TamperedPackage(f"the package cannot be read: {error}") from None
    if actual != expected:
        bad = sorted(set(actual.items()) ^ set(expected.items()))
        raise TamperedPackage(
            f"entries differ from the signed manifest: {bad[0][0] if bad else '?'}"
        )
    return manifest


class RegistryClient:
    """`async with RegistryClient(address, token) as registry: ...`"""

    def __init__(
        self,
        address: str,
        token: str = "",
        *,
        channel: grpc.aio.Channel | None = None,
        timeout: float = 60.0,
    ) -> None:
        self._own = channel is None
        self.channel = channel or grpc.aio.insecure_channel(
            address, options=[("grpc.max_receive_message_length", 8 * CHUNK)]
        )
        self.stub = registry_service_pb2_grpc.RegistryServiceStub(self.channel)
        self.token = token
        self.timeout = timeout

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own:
            await self.channel.close(None)

    def _md(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")] if self.token else []

    # ---- publishing

    async def publish(
        self,
        package: bytes | str | Path,
        *,
        target_platform: str = "",
        pre_release: bool | None = None,
        wait: bool = True,
        wait_seconds: float = 120.0,
    ) -> tuple[pb.Version, pb.Scan]:
        data = (
            package
            if isinstance(package, bytes)
            else await asyncio.to_thread(Path(package).read_bytes)
        )
        name = "" if isinstance(package, bytes) else Path(package).name
        hints = spb.UploadMetadata(
            target_platform=target_platform,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            file_name=name,
            request_id=str(uuid.uuid4()),
        )
        if pre_release is not None:
            hints.pre_release = pre_release

        async def messages() -> AsyncIterator[spb.UploadPackageRequest]:
            yield spb.UploadPackageRequest(metadata=hints)
            for i in range(0, len(data), CHUNK):
                yield spb.UploadPackageRequest(chunk=data[i : i + CHUNK])

        response = await self.stub.UploadPackage(
            messages(), metadata=self._md(), timeout=self.timeout
        )
        scan = response.scan
        if wait:
            scan = await self.wait_for_scan(scan.name, wait_seconds)
        return response.version, scan

    async def wait_for_scan(self, name: str, wait_seconds: float = 120.0) -> pb.Scan:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        delay = 0.1
        while True:
            scan = await self.stub.GetScan(
                spb.GetScanRequest(name=name), metadata=self._md(), timeout=10
            )
            if scan.state in FINAL_STATES or loop.time() > deadline:
                return scan
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 2.0)

    # ---- reading

    async def search(
        self, query: str, *, page_size: int = 20, **filters: Any
    ) -> spb.SearchExtensionsResponse:
        return await self.stub.SearchExtensions(
            spb.SearchExtensionsRequest(query=query, page_size=page_size, **filters),
            timeout=self.timeout,
        )

    async def get_extension(self, namespace: str, extension: str) -> pb.Extension:
        return await self.stub.GetExtension(
            spb.GetExtensionRequest(name=f"namespaces/{namespace}/extensions/{extension}"),
            timeout=self.timeout,
        )

    async def public_keys(self) -> dict[str, bytes]:
        answer = await self.stub.ListSigningKeys(spb.ListSigningKeysRequest(), timeout=self.timeout)
        return {k.name: k.public_key for k in answer.signing_keys}

    async def download(
        self,
        namespace: str,
        extension: str,
        version: str = "latest",
        *,
        target_platform: str = "",
        trusted_keys: dict[str, bytes] | None = None,
    ) -> DownloadedPackage:
        """Downloads and verifies; raises TamperedPackage when anything does not match."""
        request = spb.DownloadPackageRequest(
            name=f"namespaces/{namespace}/extensions/{extension}/versions/{version}",
            target_platform=target_platform,
        )
        metadata: spb.DownloadMetadata | None = None
        body = bytearray()
        async for message in self.stub.DownloadPackage(
            request, metadata=self._md(), timeout=self.timeout
        ):
            if message.WhichOneof("payload") == "metadata":
                metadata = message.metadata
            else:
                body += message.chunk
        if metadata is None:
            raise TamperedPackage("the registry sent no metadata")
        keys = trusted_keys if trusted_keys is not None else await self.public_keys()
        data = bytes(body)
        if metadata.sha256 != hashlib.sha256(data).hexdigest():
            raise TamperedPackage("the downloaded bytes do not match the announced SHA-256")
        manifest = verify_package(data, metadata.signature, keys)
        return DownloadedPackage(data, metadata, manifest)


__all__: Sequence[str] = (
    "DownloadedPackage",
    "RegistryClient",
    "TamperedPackage",
    "parse_extension_ref",
    "verify_package",
)
