"""VSIX packages built by test code (nothing downloaded): a zip with `extension/package.json`,
`extension.vsixmanifest` and `[Content_Types].xml`, as `vsce package` makes them."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension=".json" ContentType="application/json"/><Default Extension=".vsixmanifest" '
    'ContentType="text/xml"/>'
    '<Default Extension=".md" ContentType="text/markdown"/><Default Extension=".js" '
    'ContentType="application/javascript"/>'
    "</Types>"
)


def vsix_manifest(
    publisher: str,
    name: str,
    version: str,
    target_platform: str | None,
    pre_release: bool,
    display: str,
) -> str:
    platform_attr = f' TargetPlatform="{target_platform}"' if target_platform else ""
    pre = (
        '<Property Id="Microsoft.VisualStudio.Code.PreRelease" Value="true" />'
        if pre_release
        else ""
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011">'
        f'<Metadata><Identity Language="en-US" Id="{name}" Version="{version}" '
        f'Publisher="{publisher}"{platform_attr} />'
        f"<DisplayName>{display}</DisplayName><Properties>{pre}</Properties></Metadata>"
        '<Installation><InstallationTarget Id="Microsoft.VisualStudio.Code"/></Installation>'
        '<Assets><Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" '
        'Addressable="true" /></Assets>'
        "</PackageManifest>"
    )


def package_json(
    publisher: str = "acme", name: str = "tools", version: str = "1.0.0", **fields: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "publisher": publisher,
        "version": version,
        "displayName": fields.pop("displayName", f"{name} helper"),
        "description": fields.pop("description", f"Tools for {name}"),
        "engines": fields.pop("engines", {"vscode": "^1.80.0"}),
        "categories": fields.pop("categories", ["Other"]),
        "keywords": fields.pop("keywords", []),
        "license": fields.pop("license", "MIT"),
    }
    data.update(fields)
    return data


def build_vsix(
    publisher: str = "acme",
    name: str = "tools",
    version: str = "1.0.0",
    *,
    target_platform: str | None = None,
    pre_release: bool = False,
    files: Mapping[str, bytes | str] | None = None,
    manifest: dict[str, Any] | None = None,
    raw_manifest: bytes | None = None,
    readme: str | None = "# Hello\n",
    compression: int = zipfile.ZIP_DEFLATED,
    **fields: Any,
) -> bytes:
    data = manifest if manifest is not None else package_json(publisher, name, version, **fields)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr(
            "extension.vsixmanifest",
            vsix_manifest(
                publisher,
                name,
                version,
                target_platform,
                pre_release,
                data.get("displayName", name) if isinstance(data, dict) else name,
            ),
        )
        zf.writestr(
            "extension/package.json",
            raw_manifest if raw_manifest is not None else json.dumps(data, indent=2),
        )
        if readme is not None:
            zf.writestr("extension/README.md", readme)
        zf.writestr("extension/out/extension.js", f"exports.activate = () => '{name}';\n")
        for path, content in (files or {}).items():
            zf.writestr(path, content)
    return buffer.getvalue()
