"""Publishing, checks, signed downloads and lifecycle through the real gRPC server
(RG-2, RG-3, RG-5, RG-6 and the bad-input promises)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import uuid
import zipfile
from typing import Any

import grpc
import pytest
from sqlalchemy import text

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import resources_pb2 as pb
from symphony_client.errors import error_reason as reason_of
from symphony_registry.domain.signing import verify
from tests.integration.registry.conftest import RegistryHarness
from tests.integration.registry.vsix import build_vsix, package_json


async def expect(code: grpc.StatusCode, reason: str, awaitable) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await awaitable
    assert caught.value.code() == code, caught.value.details()
    assert reason_of(caught.value) == reason, (reason_of(caught.value), caught.value.details())


def spool_files(registry: RegistryHarness) -> list[str]:
    return os.listdir(registry.spool_dir)


# ---------------------------------------------------------------- RG-6 integrity


async def test_signed_download_verifies_and_a_flipped_byte_fails(registry: RegistryHarness) -> None:
    ns = await registry.namespace("alice")
    data = build_vsix(ns, "integrity", "1.0.0", files={"extension/lib/a.js": "a" * 5000})
    _, scan = await registry.publish(data, "alice")
    assert scan.state == pb.SCAN_STATE_PASSED
    meta, body = await registry.download(f"namespaces/{ns}/extensions/integrity/versions/1.0.0")
    assert body == data and hashlib.sha256(body).hexdigest() == meta.sha256
    keys = await registry.stub.ListSigningKeys(spb.ListSigningKeysRequest())
    key = {k.name: k for k in keys.signing_keys}[meta.signature.key]
    assert verify(key.public_key, meta.signature.signature, meta.signature.manifest)
    manifest = json.loads(meta.signature.manifest)
    assert manifest["package"] == {"sha256": meta.sha256, "size": len(data)}
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        actual = {i.filename: hashlib.sha256(zf.read(i)).hexdigest() for i in zf.infolist()}
    assert {e["path"]: e["sha256"] for e in manifest["entries"]} == actual
    flipped = bytearray(meta.signature.manifest)
    flipped[len(flipped) // 2] ^= 1
    assert not verify(key.public_key, meta.signature.signature, bytes(flipped))


async def test_range_download(registry: RegistryHarness) -> None:
    ns = await registry.namespace("alice")
    data = build_vsix(
        ns, "ranged", "1.0.0", files={"extension/big.bin": os.urandom(3 * 1024 * 1024)}
    )
    await registry.publish(data, "alice")
    meta, body = await registry.download(
        f"namespaces/{ns}/extensions/ranged/versions/1.0.0", offset=1_000_000, length=2_000_000
    )
    assert (
        body == data[1_000_000:3_000_000] and meta.offset == 1_000_000 and meta.length == 2_000_000
    )
    await expect(
        grpc.StatusCode.OUT_OF_RANGE,
        "RANGE_NOT_SATISFIABLE",
        registry.download(
            f"namespaces/{ns}/extensions/ranged/versions/1.0.0", offset=len(data) + 1
        ),
    )


# ---------------------------------------------------------------- RG-2 limits and chunking


async def test_chunk_over_1_mib_is_refused_and_nothing_is_left(registry: RegistryHarness) -> None:
    ns = await registry.namespace("alice")
    data = build_vsix(ns, "chunky", "1.0.0", files={"extension/b.bin": os.urandom(1_200_000)})
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "UPLOAD_CHUNK_TOO_LARGE",
        registry.upload(data, registry.token("alice"), chunk=len(data)),
    )
    assert spool_files(registry) == []


async def test_download_chunks_are_at_most_1_mib(registry: RegistryHarness) -> None:
    ns = await registry.namespace("alice")
    data = build_vsix(ns, "chunks", "1.0.0", files={"extension/b.bin": os.urandom(2_500_000)})
    await registry.publish(data, "alice")
    sizes = []
    async for message in registry.stub.DownloadPackage(
        spb.DownloadPackageRequest(name=f"namespaces/{ns}/extensions/chunks/versions/1.0.0")
    ):
        if message.WhichOneof("payload") == "chunk":
            sizes.append(len(message.chunk))
    assert max(sizes) <= 1024 * 1024 and sum(sizes) == len(data)


async def test_bad_packages_leave_nothing_behind(registry: RegistryHarness) -> None:
    ns = await registry.namespace("alice")
    md = registry.token("alice")
    cases = [
        (b"not a zip at all", "PACKAGE_NOT_ZIP"),
        (
            build_vsix(ns, "bad", "1.0.0", files={"extension/../evil": "x"}),
            "PACKAGE_PATH_TRAVERSAL",
        ),
        (build_vsix(ns, "bad", "not-semver"), "VERSION_INVALID"),
        (build_vsix(ns, "bad", "1.0.0", raw_manifest=b"\xff\xfe{}"), "MANIFEST_ENCODING_INVALID"),
    ]
    for data, reason in cases:
        await expect(grpc.StatusCode.INVALID_ARGUMENT, reason, registry.upload(data, md))
    good = build_vsix(ns, "bad", "1.0.0")
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "PACKAGE_SHA256_MISMATCH",
        registry.upload(good, md, sha256="0" * 64),
    )
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "PACKAGE_SIZE_MISMATCH",
        registry.upload(good, md, size_bytes=len(good) + 1),
    )
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "NAMESPACE_MISMATCH",
        registry.upload(good, md, namespace=ns + "x"),
    )
    assert spool_files(registry) == []
    await expect(
        grpc.StatusCode.NOT_FOUND,
        "EXTENSION_NOT_FOUND",
        registry.stub.GetExtension(spb.GetExtensionRequest(name=f"namespaces/{ns}/extensions/bad")),
    )


async def test_metadata_first(registry: RegistryHarness) -> None:
    async def only_chunks():  # type: ignore[no-untyped-def]
        yield spb.UploadPackageRequest(chunk=b"PK")

    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "UPLOAD_METADATA_MISSING",
        registry.stub.UploadPackage(only_chunks(), metadata=registry.token("alice")),
    )


# ------------------------------------------------------------ RG-3 authorization and immutability


async def test_publish_authorization_and_immutability(registry: RegistryHarness) -> None:
    ns_a = await registry.namespace("alice")
    ns_b = await registry.namespace("bob")
    pat_a = registry.pat("alice", [f"registry.publish:{ns_a}"])
    response = await registry.upload(build_vsix(ns_a, "tool", "1.0.0"), pat_a)
    await registry.wait_scan(response.scan.name, pat_a)
    # A token scoped to A cannot publish to B, even for B's owner... and Alice is no member of B.
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.upload(build_vsix(ns_b, "tool", "1.0.0"), pat_a),
    )
    pat_b_scoped_a = registry.pat("bob", [f"registry.publish:{ns_a}"])
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "TOKEN_SCOPE_INSUFFICIENT",
        registry.upload(build_vsix(ns_b, "tool", "1.0.0"), pat_b_scoped_a),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "TOKEN_SCOPE_INSUFFICIENT",
        registry.upload(build_vsix(ns_b, "tool", "1.0.0"), registry.pat("bob", ["sync.read"])),
    )
    await expect(
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
        registry.upload(build_vsix(ns_b, "tool", "1.0.0"), []),
    )
    # Unclaimed namespace.
    await expect(
        grpc.StatusCode.NOT_FOUND,
        "NAMESPACE_NOT_FOUND",
        registry.upload(
            build_vsix("unclaimed" + ns_a[-6:], "tool", "1.0.0"), registry.token("alice")
        ),
    )
    # Same version again, even after a yank.
    await expect(
        grpc.StatusCode.ALREADY_EXISTS,
        "VERSION_EXISTS",
        registry.upload(build_vsix(ns_a, "tool", "1.0.0"), pat_a),
    )
    await registry.stub.YankVersion(
        spb.YankVersionRequest(name=f"namespaces/{ns_a}/extensions/tool/versions/1.0.0"),
        metadata=registry.token("alice"),
    )
    await expect(
        grpc.StatusCode.ALREADY_EXISTS,
        "VERSION_EXISTS",
        registry.upload(build_vsix(ns_a, "tool", "1.0.0"), pat_a),
    )
    assert spool_files(registry) == []


async def test_namespace_names(registry: RegistryHarness) -> None:
    md = registry.token("carol")
    create = registry.stub.CreateNamespace
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "NAMESPACE_NAME_RESERVED",
        create(spb.CreateNamespaceRequest(namespace_id="Microsoft"), metadata=md),
    )
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "NAMESPACE_NAME_CONFUSABLE",
        create(spb.CreateNamespaceRequest(namespace_id="micros0ft"), metadata=md),
    )
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "NAMESPACE_NAME_CONFUSABLE",
        create(spb.CreateNamespaceRequest(namespace_id="pаypal"), metadata=md),
    )
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "NAMESPACE_NAME_INVALID",
        create(spb.CreateNamespaceRequest(namespace_id="a/b"), metadata=md),
    )
    ns = await registry.namespace("carol", "Corp")
    await expect(
        grpc.StatusCode.ALREADY_EXISTS,
        "NAMESPACE_EXISTS",
        create(spb.CreateNamespaceRequest(namespace_id=ns.lower()), metadata=md),
    )
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "NAMESPACE_NAME_CONFUSABLE",
        create(spb.CreateNamespaceRequest(namespace_id=ns.replace("o", "0")), metadata=md),
    )
    # Too similar to a verified namespace.
    registry.auth.admins.add("root")
    verified = await registry.namespace("carol", "brandname")
    await registry.stub.SetNamespaceVerified(
        spb.SetNamespaceVerifiedRequest(name=f"namespaces/{verified}", verified=True),
        metadata=registry.token("root"),
    )
    similar = verified[:-1] + ("x" if verified[-1] != "x" else "y")
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "NAMESPACE_NAME_TOO_SIMILAR",
        create(spb.CreateNamespaceRequest(namespace_id=similar), metadata=md),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "ADMIN_REQUIRED",
        registry.stub.SetNamespaceVerified(
            spb.SetNamespaceVerifiedRequest(name=f"namespaces/{ns}", verified=True), metadata=md
        ),
    )


async def test_organization_namespace(registry: RegistryHarness) -> None:
    from symphony_registry.domain.models import Role

    registry.auth.orgs["org1"] = {"olga": Role.OWNER, "mike": Role.CONTRIBUTOR}
    name = "orgns" + os.urandom(4).hex()
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "ORGANIZATION_ACCESS_DENIED",
        registry.stub.CreateNamespace(
            spb.CreateNamespaceRequest(
                namespace_id=name, namespace=pb.Namespace(owner="organizations/org1")
            ),
            metadata=registry.token("mike"),
        ),
    )
    ns = await registry.stub.CreateNamespace(
        spb.CreateNamespaceRequest(
            namespace_id=name, namespace=pb.Namespace(owner="organizations/org1")
        ),
        metadata=registry.token("olga"),
    )
    assert ns.owner == "organizations/org1"
    _, scan = await registry.publish(build_vsix(name, "orgtool", "1.0.0"), "mike")
    assert scan.state == pb.SCAN_STATE_PASSED
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.upload(build_vsix(name, "orgtool", "1.0.1"), registry.token("stranger")),
    )


# ---------------------------------------------------------------- RG-5 secrets


async def test_leaked_personal_access_token_is_revoked_and_version_rejected(
    registry: RegistryHarness,
) -> None:
    ns = await registry.namespace("dave")
    leaked = registry.auth.new_pat("dave", ["registry.publish"])
    data = build_vsix(ns, "leaky", "1.0.0", files={"extension/.env": f"SYMPHONY_TOKEN={leaked}\n"})
    _, scan = await registry.publish(data, "dave")
    assert scan.state == pb.SCAN_STATE_REJECTED
    finding = next(f for f in scan.findings if f.reason == "SECRET_SYMPHONY_TOKEN")
    assert finding.file == "extension/.env" and finding.line == 1 and finding.remedy
    assert leaked not in finding.message and leaked not in str(scan)
    assert leaked not in registry.auth.pats and registry.auth.revoked[-1][0] == leaked
    await expect(
        grpc.StatusCode.NOT_FOUND,
        "EXTENSION_NOT_FOUND",
        registry.download(f"namespaces/{ns}/extensions/leaky/versions/1.0.0"),
    )


async def test_a_leaked_token_is_revoked_once_auth_answers_again(
    registry: RegistryHarness,
) -> None:
    """RG-5 while auth is down: the version is still rejected (not ERRORED), and the token,
    kept in the registry's table, is revoked by the background retry once auth answers."""
    ns = await registry.namespace("dave")
    leaked = registry.auth.new_pat("dave", ["registry.publish"])
    data = build_vsix(ns, "leaky", "1.0.0", files={"extension/.env": f"SYMPHONY_TOKEN={leaked}\n"})
    registry.auth.fail_revocation = True
    try:
        _, scan = await registry.publish(data, "dave")
    finally:
        registry.auth.fail_revocation = False
    assert scan.state == pb.SCAN_STATE_REJECTED
    finding = next(f for f in scan.findings if f.reason == "SECRET_SYMPHONY_TOKEN")
    assert "is being revoked" in finding.message and leaked not in finding.message
    engine = registry.running.wiring.registry["engine"]  # type: ignore[attr-defined]

    async def kept() -> int:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT count(*) FROM registry.token_revocations WHERE token = :t"),
                {"t": leaked},
            )
            return int(rows.scalar_one())

    deadline = asyncio.get_running_loop().time() + 30
    # The row goes right after auth answered: wait for both.
    while (leaked in registry.auth.pats or await kept()) and (  # noqa: ASYNC110 - no event to await
        asyncio.get_running_loop().time() < deadline
    ):
        await asyncio.sleep(0.05)
    assert leaked not in registry.auth.pats
    assert (leaked, f"namespaces/{ns}/extensions/leaky/versions/1.0.0:extension/.env") in (
        registry.auth.revoked
    )
    assert await kept() == 0  # the token is not kept once revoked


async def test_blocklisted_file_is_rejected_with_the_file_named(registry: RegistryHarness) -> None:
    registry.auth.admins.add("root")
    evil = b"console.log('evil payload')" + os.urandom(8)
    await registry.stub.CreateBlocklistEntry(
        spb.CreateBlocklistEntryRequest(
            blocklist_entry=pb.BlocklistEntry(
                sha256=hashlib.sha256(evil).hexdigest(), reason="known malware"
            )
        ),
        metadata=registry.token("root"),
    )
    ns = await registry.namespace("erin")
    _, scan = await registry.publish(
        build_vsix(ns, "blocked", "1.0.0", files={"extension/x.js": evil}), "erin"
    )
    assert scan.state == pb.SCAN_STATE_REJECTED
    assert [(f.reason, f.file) for f in scan.findings if f.check == pb.SCAN_CHECK_BLOCKLIST] == [
        ("BLOCKED_FILE", "extension/x.js")
    ]


async def test_quarantine_then_admin_allows(registry: RegistryHarness) -> None:
    registry.auth.admins.add("root")
    ns = await registry.namespace("fay")
    aws = "AKIA" + "ABCDEFGHIJKLMNOP"
    _, scan = await registry.publish(
        build_vsix(ns, "quar", "1.0.0", files={"extension/config.js": f"key='{aws}'"}), "fay"
    )
    assert scan.state == pb.SCAN_STATE_QUARANTINED
    name = f"namespaces/{ns}/extensions/quar/versions/1.0.0"
    await expect(
        grpc.StatusCode.NOT_FOUND,
        "EXTENSION_NOT_FOUND",
        registry.stub.GetVersion(spb.GetVersionRequest(name=name)),
    )
    # The publisher (a member) sees the inactive version and why.
    own = await registry.stub.GetVersion(
        spb.GetVersionRequest(name=name), metadata=registry.token("fay")
    )
    assert own.scan_state == pb.SCAN_STATE_QUARANTINED
    queue = await registry.stub.ListScans(
        spb.ListScansRequest(state=pb.SCAN_STATE_QUARANTINED), metadata=registry.token("root")
    )
    assert scan.name in [s.name for s in queue.scans]
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "ADMIN_REQUIRED",
        registry.stub.AllowQuarantinedVersion(
            spb.AllowQuarantinedVersionRequest(scan=scan.name), metadata=registry.token("fay")
        ),
    )
    allowed = await registry.stub.AllowQuarantinedVersion(
        spb.AllowQuarantinedVersionRequest(scan=scan.name, reason="test key"),
        metadata=registry.token("root"),
    )
    assert allowed.state == pb.SCAN_STATE_PASSED and allowed.decision.allowed
    assert (await registry.stub.GetVersion(spb.GetVersionRequest(name=name))).version == "1.0.0"


# ---------------------------------------------------------------- reading, lifecycle, updates


async def test_versions_aliases_files_and_lifecycle(registry: RegistryHarness) -> None:
    ns = await registry.namespace("gus")
    md = registry.token("gus")
    for version, pre in (("1.0.0", False), ("1.1.0", False), ("2.0.0-beta.1", True)):
        _, scan = await registry.publish(
            build_vsix(ns, "life", version, pre_release=pre, engines={"vscode": "^1.80.0"}), "gus"
        )
        assert scan.state == pb.SCAN_STATE_PASSED
    _, scan = await registry.publish(
        build_vsix(ns, "life", "1.2.0", engines={"vscode": "^1.99.0"}), "gus"
    )
    base = f"namespaces/{ns}/extensions/life"
    ext = await registry.stub.GetExtension(spb.GetExtensionRequest(name=base))
    assert (
        ext.latest_version.version == "1.2.0" and ext.pre_release_version.version == "2.0.0-beta.1"
    )
    versions = await registry.stub.ListVersions(spb.ListVersionsRequest(parent=base))
    assert [v.version for v in versions.versions] == ["2.0.0-beta.1", "1.2.0", "1.1.0", "1.0.0"]
    readme = await registry.stub.GetVersionFile(
        spb.GetVersionFileRequest(name=f"{base}/versions/latest/files/readme")
    )
    assert readme.text.startswith("# Hello")
    manifest = await registry.stub.GetVersionFile(
        spb.GetVersionFileRequest(name=f"{base}/versions/1.0.0/files/manifest")
    )
    assert json.loads(manifest.text)["version"] == "1.0.0"
    # Update check: 1.2.0 needs a newer editor.
    updates = await registry.stub.CheckUpdates(
        spb.CheckUpdatesRequest(
            extensions=[
                spb.InstalledExtension(extension_id=f"{ns}.life", version="1.0.0"),
                spb.InstalledExtension(extension_id=f"{ns}.nothing", version="1.0.0"),
            ],
            editor_version="1.85.0",
            target_platform="linux-x64",
        )
    )
    assert (
        updates.updates[0].latest_compatible_version.version == "1.1.0"
        and updates.updates[0].update_available
    )
    assert not updates.updates[1].found
    pre = await registry.stub.CheckUpdates(
        spb.CheckUpdatesRequest(
            extensions=[spb.InstalledExtension(extension_id=f"{ns}.life", version="1.0.0")],
            editor_version="1.85.0",
            target_platform="linux-x64",
            include_pre_release=True,
        )
    )
    assert pre.updates[0].latest_compatible_version.version == "2.0.0-beta.1"
    # Yank 1.2.0: hidden from latest, still downloadable by exact version.
    await registry.stub.YankVersion(
        spb.YankVersionRequest(name=f"{base}/versions/1.2.0", reason="broken"), metadata=md
    )
    assert (
        await registry.stub.GetExtension(spb.GetExtensionRequest(name=base))
    ).latest_version.version == "1.1.0"
    meta, _ = await registry.download(f"{base}/versions/1.2.0")
    assert meta.size_bytes > 0
    await registry.stub.UnyankVersion(
        spb.UnyankVersionRequest(name=f"{base}/versions/1.2.0"), metadata=md
    )
    assert (
        await registry.stub.GetExtension(spb.GetExtensionRequest(name=base))
    ).latest_version.version == "1.2.0"
    # Unpublish 1.2.0 within the window; the number is never reused.
    await registry.stub.UnpublishVersion(
        spb.UnpublishVersionRequest(name=f"{base}/versions/1.2.0"), metadata=md
    )
    await expect(
        grpc.StatusCode.NOT_FOUND,
        "VERSION_NOT_FOUND",
        registry.stub.GetVersion(spb.GetVersionRequest(name=f"{base}/versions/1.2.0")),
    )
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_UNPUBLISHED",
        registry.upload(build_vsix(ns, "life", "1.2.0"), md),
    )
    # Deprecate with a replacement.
    other = await registry.namespace("gus")
    await registry.publish(build_vsix(other, "next", "1.0.0"), "gus")
    dep = await registry.stub.DeprecateExtension(
        spb.DeprecateExtensionRequest(
            name=base, replacement=f"namespaces/{other}/extensions/next", message="use next"
        ),
        metadata=md,
    )
    assert dep.deprecation.replacement_id == f"{other}.next"
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "REPLACEMENT_IS_SELF",
        registry.stub.DeprecateExtension(
            spb.DeprecateExtensionRequest(name=base, replacement=base), metadata=md
        ),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.stub.DeprecateExtension(
            spb.DeprecateExtensionRequest(name=base), metadata=registry.token("mallory")
        ),
    )
    undep = await registry.stub.UndeprecateExtension(
        spb.UndeprecateExtensionRequest(name=base), metadata=md
    )
    assert not undep.HasField("deprecation")


async def test_unpublish_refused_when_depended_on(registry: RegistryHarness) -> None:
    ns = await registry.namespace("hal")
    await registry.publish(build_vsix(ns, "base", "1.0.0"), "hal")
    await registry.publish(
        build_vsix(ns, "child", "1.0.0", extensionDependencies=[f"{ns}.base"]), "hal"
    )
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_HAS_DEPENDENTS",
        registry.stub.UnpublishVersion(
            spb.UnpublishVersionRequest(name=f"namespaces/{ns}/extensions/base/versions/1.0.0"),
            metadata=registry.token("hal"),
        ),
    )


async def test_platform_builds(registry: RegistryHarness) -> None:
    ns = await registry.namespace("ivy")
    for platform in ("linux-x64", "darwin-arm64"):
        _, scan = await registry.publish(
            build_vsix(ns, "native", "1.0.0", target_platform=platform), "ivy"
        )
        assert scan.state == pb.SCAN_STATE_PASSED
    name = f"namespaces/{ns}/extensions/native/versions/1.0.0"
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "TARGET_PLATFORM_REQUIRED",
        registry.stub.GetVersion(spb.GetVersionRequest(name=name)),
    )
    got = await registry.stub.GetVersion(
        spb.GetVersionRequest(name=name, target_platform="darwin-arm64")
    )
    assert got.target_platform == "darwin-arm64" and list(got.available_target_platforms) == [
        "darwin-arm64",
        "linux-x64",
    ]
    meta, _ = await registry.download(name, target_platform="linux-x64")
    assert meta.file_name == f"{ns}.native-1.0.0@linux-x64.vsix"


async def test_idempotent_upload(registry: RegistryHarness) -> None:
    ns = await registry.namespace("jan")
    import uuid

    rid = str(uuid.uuid4())
    data = build_vsix(ns, "idem", "1.0.0")
    first = await registry.upload(data, registry.token("jan"), request_id=rid)
    again = await registry.upload(data, registry.token("jan"), request_id=rid)
    assert first.version.uid == again.version.uid
    _ = package_json


async def test_a_page_of_extensions_carries_each_ones_newest_builds(
    registry: RegistryHarness,
) -> None:
    """Listing and search load the newest builds of a whole page at once; each extension must
    still get its own newest stable and newer pre-release build for the asked platform."""
    ns = await registry.namespace("una")
    for name, version, pre, platform in (
        ("alpha", "1.0.0", False, None),
        ("alpha", "2.0.0-rc.1", True, None),
        ("beta", "3.0.0", False, None),
        ("beta", "3.1.0", False, "linux-x64"),
        ("gamma", "0.1.0-beta.1", True, None),
    ):
        _, scan = await registry.publish(
            build_vsix(ns, name, version, pre_release=pre, target_platform=platform), "una"
        )
        assert scan.state == pb.SCAN_STATE_PASSED

    def builds(extensions: Any) -> dict[str, tuple[str, str]]:
        return {  # search also finds other tests' namespaces with similar names
            e.extension_id: (e.latest_version.version, e.pre_release_version.version)
            for e in extensions
            if e.namespace == ns
        }

    listed = await registry.stub.ListExtensions(
        spb.ListExtensionsRequest(parent=f"namespaces/{ns}")
    )
    assert builds(listed.extensions) == {
        f"{ns}.alpha": ("1.0.0", "2.0.0-rc.1"),
        f"{ns}.beta": ("3.1.0", ""),
        f"{ns}.gamma": ("0.1.0-beta.1", ""),
    }
    found = await registry.stub.SearchExtensions(
        spb.SearchExtensionsRequest(
            query=ns, target_platform="darwin-arm64", include_pre_release=True
        )
    )
    assert builds(r.extension for r in found.results) == {
        f"{ns}.alpha": ("1.0.0", "2.0.0-rc.1"),
        f"{ns}.beta": ("3.0.0", ""),
        f"{ns}.gamma": ("0.1.0-beta.1", ""),
    }


async def test_any_file_of_a_package_is_served_from_the_stored_blob(
    registry: RegistryHarness,
) -> None:
    """GetVersionFile `entry`: read by range out of a blob of several chunks (the entry and the
    zip's directory lie past the first 1 MiB), checked against the manifest, size-capped."""
    ns = await registry.namespace("wes")
    script = "export function activate() { return 42 }\n" * 100
    files: dict[str, bytes | str] = {
        "extension/media/noise.bin": os.urandom(2 * 1024 * 1024),
        "extension/dist/web.js": script,
        "extension/huge.bin": os.urandom(3 * 1024 * 1024 + 1),
    }
    name = f"webby{uuid.uuid4().hex[:8]}"  # a name like another one would be quarantined
    _, scan = await registry.publish(build_vsix(ns, name, "1.0.0", files=files), "wes")
    assert scan.state == pb.SCAN_STATE_PASSED
    files_of = f"namespaces/{ns}/extensions/{name}/versions/1.0.0/files"

    def get(file: str, path: str = "") -> Any:
        return registry.stub.GetVersionFile(
            spb.GetVersionFileRequest(name=f"{files_of}/{file}", path=path)
        )

    got = await get("entry", "extension/dist/web.js")
    assert got.WhichOneof("content") == "text"  # a text type travels as text
    assert got.text == script and got.path == "extension/dist/web.js"
    assert got.sha256 == hashlib.sha256(script.encode()).hexdigest()
    assert got.content_type in ("text/javascript", "application/javascript")
    noise = await get("entry", "extension/media/noise.bin")
    assert noise.data == files["extension/media/noise.bin"]
    await expect(grpc.StatusCode.NOT_FOUND, "FILE_NOT_FOUND", get("entry", "extension/nope.js"))
    await expect(grpc.StatusCode.INVALID_ARGUMENT, "FILE_INVALID", get("entry"))
    await expect(grpc.StatusCode.INVALID_ARGUMENT, "FILE_INVALID", get("readme", "extension/x"))
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION, "FILE_TOO_LARGE", get("entry", "extension/huge.bin")
    )
