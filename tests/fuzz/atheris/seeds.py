"""Write the seed corpora of the IN-4 harnesses (`corpus/<harness>/seed-*`): small valid inputs
in each harness' input format. Run from the repository root after changing a format:
`.venv/bin/python tests/fuzz/atheris/seeds.py`. The files the fuzzer adds stay as they are."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository root, for tests.integration

from in4_support import (  # noqa: E402 - after the path above
    INTERNAL_METHOD,
    NOW,
    PUBLIC_METHOD,
    SERVICE_TOKEN,
    VALID_PAT,
    fixed_signer,
    valid_bearer,
)

from symphony.sync.v1 import sync_service_pb2  # noqa: E402
from tests.integration.registry.vsix import (  # noqa: E402
    CONTENT_TYPES,
    build_vsix,
    package_json,
    vsix_manifest,
)

REQUEST_ID = "7d444840-9dc0-11d1-b245-5ffdce74fad2"


def members(*entries: tuple[str, bytes]) -> bytes:
    """The VSIX harness' member list: `name NUL content`, joined by `NUL NUL`."""
    return b"\x00\x00".join(name.encode() + b"\x00" + content for name, content in entries)


def vsix_seeds() -> dict[str, bytes]:
    manifest = json.dumps(package_json(icon="icon.png"), indent=2).encode()
    xml = vsix_manifest("acme", "tools", "1.0.0", None, False, "tools helper").encode()
    return {
        # mode 0: the upload as it is; hints: none
        "raw-deflated": b"\x00" + build_vsix(),
        # mode 4 | 2 << 3 | 1 << 6: namespace "acme", platform linux-x64, pre-release true
        "raw-stored-platform": bytes([4 | 2 << 3 | 1 << 6])
        + build_vsix(target_platform="linux-x64", pre_release=True, compression=zipfile.ZIP_STORED),
        # mode 3: members, deflated
        "members": b"\x03"
        + members(
            ("[Content_Types].xml", CONTENT_TYPES.encode()),
            ("extension.vsixmanifest", xml),
            ("extension/package.json", manifest),
            ("extension/README.md", b"# Hello\n"),
            ("extension/icon.png", b"\x89PNG\r\n\x1a\n"),
        ),
    }


def manifest_seeds() -> dict[str, bytes]:
    full = package_json(
        "acme",
        "tools",
        "2.1.0-beta.3+build.7",
        engines={"vscode": "^1.80.0", "symphony": ">=0.4.0 <1.0.0 || 1.x"},
        license={"type": "Apache-2.0"},
        homepage="https://example.com/tools",
        repository={"type": "git", "url": "https://example.com/tools.git"},
        bugs={"url": "https://example.com/tools/issues"},
        keywords=["lint", "format"],
        extensionDependencies=["acme.base"],
        extensionPack=["acme.extra"],
    )
    xml = vsix_manifest("acme", "tools", "1.0.0", "linux-x64", True, "tools helper")
    return {
        "package-json": json.dumps(package_json(), indent=2).encode(),
        "package-json-full": json.dumps(full).encode(),
        "vsixmanifest": xml.encode(),
    }


def semver_seeds() -> dict[str, bytes]:
    return {
        "versions-and-ranges": b"1.2.3-rc.1+build\n1.2.3\n^1.2.0\n>=1.0.0 <2.0.0 || 3.x",
        "prereleases": b"0.0.1-alpha.1\n0.0.1-alpha.beta\n~0.0.1\n1.0.0 - 2.1.x",
        "partials": b"10.20.30+meta\n1.0.0-0.3.7\n*\n<=1.2",
    }


def token_seeds() -> dict[str, bytes]:
    signer = fixed_signer()
    header = {"alg": "EdDSA", "kid": signer.kid, "typ": "at+jwt"}
    claims = {
        "iss": signer.issuer,
        "sub": "user-1",
        "aud": ["registry.symphony.dev"],
        "iat": NOW,
        "exp": NOW + 900,
        "jti": "in4-jti",
        "sid": "in4-sid",
        "scope": "registry.publish sync.read",
    }
    return {
        "bearer-jwt": b"\x00" + valid_bearer(signer).encode(),
        "bearer-pat": b"\x00Bearer " + VALID_PAT.encode(),
        "signed-claims": b"\x01" + json.dumps(header).encode() + b"." + json.dumps(claims).encode(),
        "service-token": b"\x02" + SERVICE_TOKEN.encode(),
        "method": b"\x03" + PUBLIC_METHOD.encode(),
        "internal-method": b"\x03" + INTERNAL_METHOD.encode(),
    }


def sync_push_seeds() -> dict[str, bytes]:
    change = sync_service_pb2.Change
    mixed = sync_service_pb2.PushRequest(
        request_id=REQUEST_ID,
        changes=[
            change(collection="settings", key="user", value=b'{"editor.fontSize":14}'),
            change(collection="keybindings", key="default", value=b'[{"key":"ctrl+k"}]'),
            change(collection="snippets", key="old", base_revision=3, deleted=True),
            change(collection="ui_state", key="layout", value=b"\x01\x02", encrypted=True),
        ],
        device="device-1",
        generation=1,
    )
    merging = sync_service_pb2.PushRequest(
        request_id=REQUEST_ID,
        changes=[
            change(collection="settings", key="a", base_revision=1, value=b'{"x":1,"y":2}'),
            change(
                collection="tasks",
                key="b",
                base_revision=2,
                value=b'{"x":1,"z":[3]}',
                mergeable=True,
                content_type="application/json",
            ),
        ],
        atomic=True,
    )
    return {"mixed": mixed.SerializeToString(), "merging": merging.SerializeToString()}


def fastingest_seeds() -> dict[str, bytes]:
    """Batches received at fuzz_fastingest.py's NOW: every event valid, and some not."""
    from datetime import UTC, datetime, timedelta

    from symphony.analytics.v1 import analytics_service_pb2, resources_pb2
    from tests.integration.analytics.support import value

    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    def event(n: int, name: str, **properties: object) -> resources_pb2.Event:
        out = resources_pb2.Event(
            event_id=f"7d444840-9dc0-41d1-b245-5ffdce74fa{n:02x}",
            name=name,
            install_id="0b7e1f4c-2f7a-4c55-9a43-41e5c0c7d8a1",
            session_id="5f0d8f43-58c9-4bd7-8a24-3c3a6b1e9c2e",
            editor_version="1.4.0-beta.2",
            platform="linux-x64",
        )
        out.client_time.FromDatetime(now - timedelta(minutes=n, microseconds=n))
        for key, v in properties.items():
            out.properties[key].CopyFrom(value(v))
        return out

    valid = [
        event(1, "file_opened", language="python"),
        event(2, "command_executed", command="editor.action.format", source="palette"),
        event(3, "editor_started", first_run=True, window_count=2, startup_ms=812.5),
        event(4, "extension_installed", extension="Acme.Linter", extension_version="1.2.0"),
        event(5, "search_performed", result_count=17, regex=False),
    ]
    sent = analytics_service_pb2.BatchIngestEventsRequest(events=valid)
    sent.sent_time.FromDatetime(now + timedelta(days=2))
    mixed = [*valid, event(6, "file_opened", language="Has Spaces"), event(1, "editor_closed")]
    return {
        "valid": analytics_service_pb2.BatchIngestEventsRequest(events=valid).SerializeToString(),
        "sent-time": sent.SerializeToString(),
        "mixed": analytics_service_pb2.BatchIngestEventsRequest(events=mixed).SerializeToString(),
    }


SEEDS = {
    "vsix": vsix_seeds,
    "manifest": manifest_seeds,
    "semver": semver_seeds,
    "tokens": token_seeds,
    "sync_push": sync_push_seeds,
    "fastingest": fastingest_seeds,
}


def main() -> None:
    for harness, make in SEEDS.items():
        folder = HERE / "corpus" / harness
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in make().items():
            (folder / f"seed-{name}").write_bytes(data)


if __name__ == "__main__":
    main()
