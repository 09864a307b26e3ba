"""The checks a scan runs after upload. Each returns findings or raises; the worker turns any
exception or timeout into an ERRORED check (fail closed), never a pass."""

from __future__ import annotations

import asyncio
import re
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from symphony_registry.domain.archive import Entry
from symphony_registry.domain.models import Check, Finding, Severity
from symphony_registry.domain.names import too_similar

SCAN_CHUNK = 256 * 1024
OVERLAP = 512

# Revokes a leaked token (token, where it was found) durably; the outcome's name, or PENDING
# while auth has not answered yet.
RevokeToken = Callable[[str, str], Awaitable[str]]


@dataclass
class ScanContext:
    """What the checks see: the stored package (a local temp copy), its entries, its names,
    and what the registry knows (blocklist, names of other extensions)."""

    package_path: str
    entries: Sequence[Entry]
    namespace: str
    extension: str
    version: str
    target_platform: str
    package_sha256: str
    blocklist: dict[str, str] = field(default_factory=dict)  # sha256 → reason
    other_extension_ids: Sequence[str] = ()
    first_version: bool = True

    @property
    def location(self) -> str:
        return f"namespaces/{self.namespace}/extensions/{self.extension}/versions/{self.version}"


class PackageCheck(Protocol):
    check: Check

    async def run(self, ctx: ScanContext) -> list[Finding]: ...


# ---------------------------------------------------------------- secrets

SYMPHONY_TOKEN = re.compile(rb"symp_[A-Za-z0-9_\-]{20,200}")
_SECRETS: tuple[tuple[str, re.Pattern[bytes], str], ...] = (
    (
        "SECRET_AWS_ACCESS_KEY",
        re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        "an AWS access key id",
    ),
    ("SECRET_GITHUB_TOKEN", re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"), "a GitHub token"),
    ("SECRET_NPM_TOKEN", re.compile(rb"\bnpm_[A-Za-z0-9]{36}\b"), "an npm token"),
    ("SECRET_SLACK_TOKEN", re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (
        "SECRET_PRIVATE_KEY",
        re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
        "a private key",
    ),
    (
        "SECRET_OVSX_TOKEN",
        re.compile(rb"OVSX_PAT\s*[=:]\s*['\"]?[0-9a-f-]{36}"),
        "an Open VSX token",
    ),
)


def _find_secrets(path: str, entries: Sequence[Entry]) -> list[tuple[str, str, int, bytes]]:
    """(reason, file, line, match) for every secret found, reading each entry in chunks."""
    found: list[tuple[str, str, int, bytes]] = []
    with zipfile.ZipFile(path) as archive:
        for entry in entries:
            with archive.open(entry.path) as member:
                tail = b""
                line = 1
                offset_lines = 0
                seen: set[tuple[str, bytes]] = set()
                while True:
                    chunk = member.read(SCAN_CHUNK)
                    if not chunk:
                        break
                    window = tail + chunk
                    for reason, pattern in (
                        ("SECRET_SYMPHONY_TOKEN", SYMPHONY_TOKEN),
                        *((r, p) for r, p, _ in _SECRETS),
                    ):
                        for m in pattern.finditer(window):
                            key = (reason, m.group(0))
                            if key in seen:
                                continue
                            seen.add(key)
                            line = offset_lines + window.count(b"\n", 0, m.start()) + 1
                            found.append((reason, entry.path, line, m.group(0)))
                    offset_lines += window[: len(window) - min(OVERLAP, len(chunk))].count(b"\n")
                    tail = window[-min(OVERLAP, len(chunk)) :]
    return found


class SecretsCheck:
    check = Check.SECRETS

    def __init__(self, revoke: RevokeToken) -> None:
        self._revoke = revoke

    async def run(self, ctx: ScanContext) -> list[Finding]:
        hits = await asyncio.to_thread(_find_secrets, ctx.package_path, ctx.entries)
        findings = []
        describe = {r: d for r, _, d in _SECRETS}
        for reason, file, line, value in hits:
            text = value.decode("ascii", "replace")
            redacted = text[:9] + "…"
            if reason == "SECRET_SYMPHONY_TOKEN":
                outcome = await self._revoke(text, f"{ctx.location}:{file}")
                done = "is being revoked" if outcome == "PENDING" else "has been revoked"
                findings.append(
                    Finding(
                        Check.SECRETS,
                        Severity.REJECT,
                        reason,
                        file,
                        line,
                        f"the package contains a Symphony personal access token ({redacted}); it "
                        + done,
                        "Remove the token from the package (and from .env files), create a new "
                        "token, and publish again.",
                        {"token_prefix": redacted, "revocation": outcome},
                    )
                )
            else:
                findings.append(
                    Finding(
                        Check.SECRETS,
                        Severity.QUARANTINE,
                        reason,
                        file,
                        line,
                        f"the package appears to contain {describe[reason]} ({redacted})",
                        "Remove the secret from the package, rotate it, and publish a new version; "
                        "add the file to .vscodeignore.",
                        {"secret_prefix": redacted},
                    )
                )
        return findings


# ---------------------------------------------------------------- blocklist


class BlocklistCheck:
    check = Check.BLOCKLIST

    async def run(self, ctx: ScanContext) -> list[Finding]:
        findings = []
        if ctx.package_sha256 in ctx.blocklist:
            findings.append(
                Finding(
                    Check.BLOCKLIST,
                    Severity.REJECT,
                    "BLOCKED_PACKAGE",
                    "",
                    0,
                    f"the package is blocked: {ctx.blocklist[ctx.package_sha256]}",
                    "This exact package may not be published.",
                    {"sha256": ctx.package_sha256},
                )
            )
        for entry in ctx.entries:
            if entry.sha256 in ctx.blocklist:
                findings.append(
                    Finding(
                        Check.BLOCKLIST,
                        Severity.REJECT,
                        "BLOCKED_FILE",
                        entry.path,
                        0,
                        f"the file is on the registry's blocklist: {ctx.blocklist[entry.sha256]}",
                        "Remove the file from the package and publish again.",
                        {"sha256": entry.sha256},
                    )
                )
        return findings


# ---------------------------------------------------------------- names


class NameSimilarityCheck:
    check = Check.NAME_SIMILARITY

    async def run(self, ctx: ScanContext) -> list[Finding]:
        if not ctx.first_version:
            return []
        mine = f"{ctx.namespace}.{ctx.extension}"
        for other in ctx.other_extension_ids:
            o_ns, _, o_name = other.partition(".")
            if o_ns.casefold() == ctx.namespace.casefold():
                continue
            if too_similar(mine, other) or (
                len(ctx.extension) >= 5 and too_similar(ctx.extension, o_name, 0.0)
            ):
                return [
                    Finding(
                        Check.NAME_SIMILARITY,
                        Severity.QUARANTINE,
                        "NAME_TOO_SIMILAR",
                        "",
                        0,
                        f"'{mine}' is very similar to the existing extension '{other}'",
                        "An administrator will review the name; choose a clearly different name to "
                        "avoid the wait.",
                        {"similar_to": other},
                    )
                ]
        return []


# ---------------------------------------------------------------- archive features

_EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xcf\xfa\xed\xfe",
    b"\xce\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)


def _features(path: str, entries: Sequence[Entry], target_platform: str) -> list[Finding]:
    findings: list[Finding] = []
    with zipfile.ZipFile(path) as archive:
        for entry in entries:
            lower = entry.path.lower()
            if (
                entry.size >= 1024 * 1024
                and entry.compressed_size
                and entry.size / entry.compressed_size > 200
            ):
                findings.append(
                    Finding(
                        Check.ARCHIVE_FEATURES,
                        Severity.QUARANTINE,
                        "HIGH_COMPRESSION_RATIO",
                        entry.path,
                        0,
                        f"the file compresses {entry.size // max(entry.compressed_size, 1)}:1, "
                        "typical of decompression bombs",
                        "Ship the file uncompressed-friendly or generate it at run time.",
                    )
                )
            with archive.open(entry.path) as member:
                head = member.read(4)
            if head.startswith(_EXECUTABLE_MAGIC):
                findings.append(
                    Finding(
                        Check.ARCHIVE_FEATURES,
                        Severity.WARNING,
                        "EXECUTABLE_FILE",
                        entry.path,
                        0,
                        "the package contains a native executable"
                        + (" in a universal build" if target_platform == "universal" else ""),
                        "Publish platform-specific builds for native code, or explain it in the "
                        "README.",
                    )
                )
            if (
                "/.git/" in f"/{lower}"
                or lower.endswith("/.env")
                or lower.endswith((".npmrc", ".pypirc"))
            ):
                findings.append(
                    Finding(
                        Check.ARCHIVE_FEATURES,
                        Severity.WARNING,
                        "SENSITIVE_FILE",
                        entry.path,
                        0,
                        "the package contains a file that usually holds credentials or history",
                        "Add it to .vscodeignore and publish again.",
                    )
                )
    return findings


class ArchiveFeaturesCheck:
    check = Check.ARCHIVE_FEATURES

    async def run(self, ctx: ScanContext) -> list[Finding]:
        return await asyncio.to_thread(
            _features, ctx.package_path, ctx.entries, ctx.target_platform
        )
