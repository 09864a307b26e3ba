"""VSIX validation, trusting no header.

The upload is spooled to a file while it is hashed and counted; this module then reads it with
`zipfile`, but checks every structural claim against the bytes: the entry count before parsing
the directory, local headers against the central directory, entries that overlap or hide data,
sizes counted from the actual decompressed output, names, links, encryption, compression
methods, nested archives, and the manifest's size, depth, encoding and fields.

Everything here is synchronous and CPU-bound; the service runs it in a thread.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import struct
import unicodedata
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from symphony_common.errors import InvalidArgument
from symphony_registry.domain.names import RESERVED_VERSIONS, is_valid_name
from symphony_registry.domain.semver import Range, SemVer

MIB = 1024 * 1024
READ_CHUNK = 64 * 1024
TARGET_PLATFORMS = (
    "universal",
    "web",
    "win32-x64",
    "win32-ia32",
    "win32-arm64",
    "linux-x64",
    "linux-arm64",
    "linux-armhf",
    "alpine-x64",
    "alpine-arm64",
    "darwin-x64",
    "darwin-arm64",
)
MANIFEST_PATH = "extension/package.json"
VSIX_MANIFEST_PATH = "extension.vsixmanifest"
# Files served by GetVersionFile are kept beside the version when at most this large.
MAX_SERVED_FILE_BYTES = 3 * MIB + MIB // 2

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_LOCAL = b"PK\x03\x04"
_ARCHIVE_MAGIC = (
    (0, b"PK\x03\x04"),
    (0, b"PK\x05\x06"),
    (0, b"\x1f\x8b"),
    (0, b"7z\xbc\xaf\x27\x1c"),
    (0, b"Rar!\x1a\x07"),
    (0, b"\xfd7zXZ\x00"),
    (0, b"BZh"),
    (257, b"ustar"),
    (0, b"\x28\xb5\x2f\xfd"),  # zstd
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    max_package_bytes: int = 256 * MIB
    max_entry_bytes: int = 32 * MIB
    max_entries: int = 50_000
    max_uncompressed_bytes: int = 512 * MIB
    max_manifest_bytes: int = 2 * MIB
    max_manifest_depth: int = 64
    max_path_depth: int = 32
    max_entry_name_bytes: int = 1024


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    sha256: str
    compressed_size: int


@dataclass
class PackageInfo:
    """What a valid package says about itself."""

    namespace: str
    name: str
    version: str
    semver: SemVer
    target_platform: str
    pre_release: bool
    display_name: str
    description: str
    categories: list[str]
    tags: list[str]
    license: str
    homepage_url: str
    repository_url: str
    bugs_url: str
    engines: list[tuple[str, str]]
    dependencies: list[str]
    bundled_extensions: list[str]
    entries: list[Entry]
    # kind (readme, changelog, icon, manifest, license) → (path, content-type, content)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    uncompressed_bytes: int = 0
    manifest: dict[str, Any] = field(default_factory=dict)


def reject(reason: str, description: str, where: str = "package") -> InvalidArgument:
    from symphony_common.errors import FieldViolation

    return InvalidArgument(
        reason=reason,
        message=f"{where}: {description}",
        field_violations=[FieldViolation(where, description, reason)],
    )


# ---------------------------------------------------------------- structure


def _read_eocd(f: BinaryIO, size: int) -> tuple[int, int, int]:
    """(entries, central directory size, central directory offset) from the end record, or
    PACKAGE_NOT_ZIP. Zip64 records are honoured."""
    tail_len = min(size, 65_535 + 22)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(_EOCD)
    if pos < 0 or len(tail) - pos < 22:
        raise reject("PACKAGE_NOT_ZIP", "not a zip archive (no end-of-central-directory record)")
    (_sig, disk, cd_disk, _n_disk, entries, cd_size, cd_offset, comment_len) = struct.unpack(
        "<4sHHHHIIH", tail[pos : pos + 22]
    )
    if disk != 0 or cd_disk != 0:
        raise reject("PACKAGE_CORRUPT", "multi-disk archives are not supported")
    if pos + 22 + comment_len != len(tail):
        raise reject("PACKAGE_CORRUPT", "data after the end-of-central-directory record")
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        loc = pos - 20
        if loc < 0 or tail[loc : loc + 4] != _EOCD64_LOCATOR:
            raise reject("PACKAGE_CORRUPT", "zip64 locator missing")
        (_s, _d, eocd64_offset, _t) = struct.unpack("<4sIQI", tail[loc : loc + 20])
        if eocd64_offset + 56 > size:
            raise reject("PACKAGE_CORRUPT", "zip64 record out of range")
        f.seek(eocd64_offset)
        rec = f.read(56)
        if rec[:4] != _EOCD64:
            raise reject("PACKAGE_CORRUPT", "zip64 record missing")
        entries, cd_size, cd_offset = struct.unpack("<QQQ", rec[32:56])
    return entries, cd_size, cd_offset


def _check_name(name: str, raw: bytes, flag_bits: int, limits: Limits) -> None:
    if len(raw) > limits.max_entry_name_bytes:
        raise reject(
            "PACKAGE_ENTRY_NAME_INVALID", f"an entry name is {len(raw)} bytes long", name[:200]
        )
    if not (flag_bits & 0x800) and not raw.isascii():
        raise reject(
            "PACKAGE_ENTRY_NAME_INVALID",
            "a non-ASCII entry name is not marked UTF-8",
            repr(raw[:200]),
        )
    if (
        not name
        or _CONTROL.search(name)
        or "\x00" in name
        or any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in name)
    ):
        raise reject(
            "PACKAGE_ENTRY_NAME_INVALID",
            "an entry name contains control characters",
            repr(name[:200]),
        )
    if "\\" in name:
        raise reject("PACKAGE_BACKSLASH_PATH", "entry names must use '/' separators", name)
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise reject("PACKAGE_ABSOLUTE_PATH", "entry names must be relative", name)
    parts = name.rstrip("/").split("/")
    if any(p in ("..", ".") for p in parts):
        raise reject(
            "PACKAGE_PATH_TRAVERSAL", "entry names must not contain '.' or '..' segments", name
        )
    if any(p == "" for p in parts):
        raise reject(
            "PACKAGE_ENTRY_NAME_INVALID", "entry names must not contain empty segments", name
        )
    if len(parts) > limits.max_path_depth:
        raise reject("PACKAGE_TOO_DEEP", f"entry is nested {len(parts)} levels deep", name[:200])


def _local_header_end(f: BinaryIO, info: zipfile.ZipInfo, size: int) -> tuple[int, int]:
    """(data start, data end) of an entry, from its local header, checked against the
    central directory record."""
    f.seek(info.header_offset)
    header = f.read(30)
    if len(header) != 30 or header[:4] != _LOCAL:
        raise reject("PACKAGE_CORRUPT", "an entry's local header is missing", info.filename)
    (_sig, _ver, flags, method, _t, _d, crc, csize, usize, name_len, extra_len) = struct.unpack(
        "<4sHHHHHIIIHH", header
    )
    if method != info.compress_type:
        raise reject(
            "PACKAGE_CORRUPT",
            "local header and directory disagree on the compression method",
            info.filename,
        )
    if (flags & 0x1) != (info.flag_bits & 0x1):
        raise reject("PACKAGE_ENCRYPTED_ENTRY", "an entry is encrypted", info.filename)
    if (
        not (flags & 0x8)
        and csize not in (0xFFFFFFFF,)
        and (csize != info.compress_size or usize != info.file_size or crc != info.CRC)
    ):
        raise reject(
            "PACKAGE_ENTRY_SIZE_MISMATCH",
            "local header and directory disagree on sizes",
            info.filename,
        )
    local_name = f.read(name_len)
    central_name = info.orig_filename.encode(
        "utf-8" if info.flag_bits & 0x800 else "cp437", "surrogateescape"
    )
    if local_name != central_name:
        raise reject(
            "PACKAGE_OVERLAPPING_ENTRIES", "the directory points into another entry", info.filename
        )
    start = info.header_offset + 30 + name_len + extra_len
    end = start + info.compress_size + (16 if flags & 0x8 else 0)
    if end > size:
        raise reject(
            "PACKAGE_CORRUPT", "an entry extends past the end of the archive", info.filename
        )
    return info.header_offset, end


def _is_archive(head: bytes) -> bool:
    return any(head[off : off + len(magic)] == magic for off, magic in _ARCHIVE_MAGIC)


# ---------------------------------------------------------------- manifest


def _json_depth_ok(text: str, limit: int) -> bool:
    depth = 0
    in_string = False
    escape = False
    for ch in text:
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def decode_manifest(raw: bytes, limits: Limits, path: str = MANIFEST_PATH) -> dict[str, Any]:
    if len(raw) > limits.max_manifest_bytes:
        raise reject(
            "MANIFEST_TOO_LARGE",
            f"the manifest is {len(raw)} bytes (limit {limits.max_manifest_bytes})",
            path,
        )
    if raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        raise reject(
            "MANIFEST_ENCODING_INVALID",
            "the manifest must be UTF-8 without a byte-order mark",
            path,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise reject("MANIFEST_ENCODING_INVALID", "the manifest is not valid UTF-8", path) from None
    if not _json_depth_ok(text, limits.max_manifest_depth):
        raise reject(
            "MANIFEST_TOO_DEEP",
            f"the manifest nests deeper than {limits.max_manifest_depth} levels",
            path,
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise reject("MANIFEST_JSON_INVALID", "the manifest is not valid JSON", path) from None
    if not isinstance(data, dict):
        raise reject("MANIFEST_JSON_INVALID", "the manifest must be a JSON object", path)
    return data


def _text(data: dict[str, Any], key: str, limit: int, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise reject("MANIFEST_FIELD_INVALID", f"'{key}' is required", f"package.json:{key}")
        return ""
    if not isinstance(value, str) or len(value) > limit or _bad_chars(value):
        raise reject(
            "MANIFEST_FIELD_INVALID",
            f"'{key}' must be a string of at most {limit} characters without control characters",
            f"package.json:{key}",
        )
    return value


def _bad_chars(value: str) -> bool:
    return any(
        unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn") and ch not in "\n\r\t"
        for ch in value
    )


def _str_list(
    data: dict[str, Any], key: str, *, item_limit: int = 128, count: int = 100
) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > count
        or not all(
            isinstance(v, str) and 0 < len(v) <= item_limit and not _bad_chars(v) for v in value
        )
    ):
        raise reject(
            "MANIFEST_FIELD_INVALID",
            f"'{key}' must be a list of at most {count} short strings",
            f"package.json:{key}",
        )
    seen: dict[str, str] = {}
    for v in value:
        seen.setdefault(v.casefold(), v)
    return list(seen.values())


def _url(value: Any, key: str) -> str:
    if isinstance(value, dict):
        value = value.get("url", "")
    if not value:
        return ""
    if (
        not isinstance(value, str)
        or len(value) > 2048
        or _bad_chars(value)
        or any(ch.isspace() for ch in value)
    ):
        raise reject("MANIFEST_FIELD_INVALID", f"'{key}' must be a URL", f"package.json:{key}")
    return value


def _ext_ids(data: dict[str, Any], key: str) -> list[str]:
    ids = _str_list(data, key, item_limit=511, count=500)
    for ext_id in ids:
        ns, _, name = ext_id.partition(".")
        if not (is_valid_name(ns) and is_valid_name(name)):
            raise reject(
                "MANIFEST_FIELD_INVALID",
                f"'{key}' entries must be 'namespace.extension'",
                f"package.json:{key}",
            )
    return [i.lower() for i in ids]


def _vsix_properties(raw: bytes) -> tuple[str, bool | None]:
    """(TargetPlatform, pre-release flag) from extension.vsixmanifest."""
    if len(raw) > MIB:
        raise reject(
            "MANIFEST_TOO_LARGE", "extension.vsixmanifest is too large", VSIX_MANIFEST_PATH
        )
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise reject(
            "MANIFEST_FIELD_INVALID",
            "extension.vsixmanifest must not declare a DOCTYPE or entities",
            VSIX_MANIFEST_PATH,
        )
    try:
        # DOCTYPE and entities are refused above, so no expansion; expat fetches nothing.
        root = ElementTree.fromstring(raw)  # noqa: S314 - no DTD or entities reach here
    except (ElementTree.ParseError, LookupError, ValueError):
        # LookupError/ValueError: an XML declaration naming an encoding Python lacks or
        # cannot decode with (found by IN-4).
        raise reject(
            "MANIFEST_JSON_INVALID",
            "extension.vsixmanifest is not well-formed XML",
            VSIX_MANIFEST_PATH,
        ) from None
    platform = ""
    pre: bool | None = None
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "Identity":
            platform = el.attrib.get("TargetPlatform", "") or ""
        elif tag == "Property" and el.attrib.get("Id") == "Microsoft.VisualStudio.Code.PreRelease":
            pre = el.attrib.get("Value", "").lower() == "true"
    return platform, pre


_CONTENT_TYPES = {
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".json": "application/json",
}


def content_type(path: str) -> str:
    lower = path.lower()
    for ext, ctype in _CONTENT_TYPES.items():
        if lower.endswith(ext):
            return ctype
    return (
        "text/plain; charset=utf-8"
        if "license" in lower or "readme" in lower or "changelog" in lower
        else "application/octet-stream"
    )


def _parse_package(
    manifest: dict[str, Any], platform_hint: str, pre_hint: bool | None
) -> dict[str, Any]:
    name = _text(manifest, "name", 255, required=True)
    if not is_valid_name(name):
        raise reject(
            "EXTENSION_NAME_INVALID",
            "'name' must match [\\w-+$~]+ (at most 255 characters)",
            "package.json:name",
        )
    publisher = _text(manifest, "publisher", 255, required=True)
    if not is_valid_name(publisher):
        raise reject(
            "MANIFEST_FIELD_INVALID",
            "'publisher' must be a namespace name",
            "package.json:publisher",
        )
    version_text = _text(manifest, "version", 128, required=True)
    if version_text in RESERVED_VERSIONS:
        raise reject(
            "VERSION_RESERVED", f"'{version_text}' is a reserved version", "package.json:version"
        )
    semver = SemVer.parse(version_text)
    if semver is None:
        raise reject(
            "VERSION_INVALID", "'version' must be a SemVer 2.0 version", "package.json:version"
        )
    engines_raw = manifest.get("engines")
    engines: list[tuple[str, str]] = []
    if engines_raw is not None and not isinstance(engines_raw, dict):
        raise reject(
            "MANIFEST_FIELD_INVALID", "'engines' must be an object", "package.json:engines"
        )
    for engine in ("symphony", "vscode"):
        value = (engines_raw or {}).get(engine)
        if value is None:
            continue
        if not isinstance(value, str) or Range.parse(value) is None:
            raise reject(
                "ENGINE_RANGE_INVALID",
                f"engines.{engine} must be a SemVer range",
                f"package.json:engines.{engine}",
            )
        engines.append((engine, value))
    if not engines:
        raise reject(
            "ENGINE_RANGE_INVALID",
            "engines.symphony or engines.vscode is required",
            "package.json:engines",
        )
    license_value = manifest.get("license", "")
    if isinstance(license_value, dict):
        license_value = license_value.get("type", "")
    if not isinstance(license_value, str) or len(license_value) > 255 or _bad_chars(license_value):
        raise reject(
            "MANIFEST_FIELD_INVALID", "'license' must be an SPDX expression", "package.json:license"
        )
    platform = platform_hint or "universal"
    if platform not in TARGET_PLATFORMS:
        raise reject(
            "TARGET_PLATFORM_INVALID",
            f"unknown target platform '{platform[:64]}'",
            "extension.vsixmanifest:TargetPlatform",
        )
    pre = bool(pre_hint)
    return {
        "name": name,
        "namespace": publisher,
        "version": version_text,
        "semver": semver,
        "target_platform": platform,
        "pre_release": pre,
        "display_name": _text(manifest, "displayName", 255),
        "description": _text(manifest, "description", 2048),
        "categories": _str_list(manifest, "categories", item_limit=64, count=20),
        "tags": _str_list(manifest, "keywords", item_limit=64, count=50),
        "license": license_value,
        "homepage_url": _url(manifest.get("homepage"), "homepage"),
        "repository_url": _url(manifest.get("repository"), "repository"),
        "bugs_url": _url(manifest.get("bugs"), "bugs"),
        "engines": engines,
        "dependencies": _ext_ids(manifest, "extensionDependencies"),
        "bundled_extensions": _ext_ids(manifest, "extensionPack"),
    }


# ---------------------------------------------------------------- the validator


def validate_package(
    f: BinaryIO, size: int, limits: Limits, *, on_progress: Callable[[], None] | None = None
) -> PackageInfo:
    """Validate the spooled package `f` of `size` bytes; raise InvalidArgument with a
    specific reason and the offending file, or return what the package says."""
    if size == 0:
        raise reject("UPLOAD_EMPTY", "the package is empty")
    if size > limits.max_package_bytes:
        raise reject(
            "PACKAGE_TOO_LARGE", f"the package is larger than {limits.max_package_bytes} bytes"
        )
    f.seek(0)
    if f.read(4) != _LOCAL:
        raise reject("PACKAGE_NOT_ZIP", "the package must start with a zip local file header")
    declared, cd_size, cd_offset = _read_eocd(f, size)
    # Before parsing the directory: its declared count and size bound the work.
    if declared > limits.max_entries:
        raise reject(
            "PACKAGE_TOO_MANY_ENTRIES",
            f"the package declares {declared} entries (limit {limits.max_entries})",
        )
    if cd_offset + cd_size > size or cd_size > (
        limits.max_entries * (46 + limits.max_entry_name_bytes + 2 * 65_535)
    ):
        raise reject("PACKAGE_CORRUPT", "the central directory lies outside the archive")
    # Each directory record is at least 46 bytes: a count that does not fit is a lie.
    if declared * 46 > cd_size:
        raise reject("PACKAGE_CORRUPT", "the central directory is truncated")
    f.seek(0)
    try:
        archive = zipfile.ZipFile(f)  # type: ignore[arg-type]
    except UnicodeDecodeError:
        raise reject(
            "PACKAGE_ENTRY_NAME_INVALID", "an entry name marked UTF-8 is not valid UTF-8"
        ) from None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        struct.error,
        OverflowError,
        EOFError,
    ):
        raise reject("PACKAGE_CORRUPT", "the zip central directory cannot be read") from None
    except NotImplementedError:
        raise reject(
            "PACKAGE_UNSUPPORTED_COMPRESSION", "the archive uses an unsupported feature"
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise reject(
                "PACKAGE_TOO_MANY_ENTRIES",
                f"the package has {len(infos)} entries (limit {limits.max_entries})",
            )
        if len(infos) != declared:
            raise reject(
                "PACKAGE_CORRUPT",
                "the end record and the central directory disagree on the entry count",
            )
        # zipfile tolerates data prepended to the archive; we do not (polyglot files).
        if getattr(archive, "_start_disk", 0) != 0 or any(i.header_offset < 0 for i in infos):
            raise reject("PACKAGE_CORRUPT", "data precedes the archive")
        seen: dict[str, str] = {}
        folded: dict[str, str] = {}
        for info in infos:
            raw = info.orig_filename.encode(
                "utf-8" if info.flag_bits & 0x800 else "cp437", "surrogateescape"
            )
            _check_name(info.filename, raw, info.flag_bits, limits)
            name = info.filename
            if name in seen:
                raise reject(
                    "PACKAGE_DUPLICATE_ENTRY", "the package contains the same entry twice", name
                )
            seen[name] = name
            key = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
            if key in folded:
                raise reject(
                    "PACKAGE_CASE_DUPLICATE_ENTRY",
                    f"entries differ only in case: {folded[key]!r}",
                    name,
                )
            folded[key] = name
            if info.flag_bits & 0x1:
                raise reject("PACKAGE_ENCRYPTED_ENTRY", "encrypted entries are not allowed", name)
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise reject(
                    "PACKAGE_UNSUPPORTED_COMPRESSION",
                    "only stored and deflated entries are allowed",
                    name,
                )
            mode = info.external_attr >> 16
            if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise reject("PACKAGE_SYMLINK", "links and special files are not allowed", name)
            if info.file_size > limits.max_entry_bytes:
                raise reject(
                    "PACKAGE_ENTRY_TOO_LARGE",
                    f"an entry is larger than {limits.max_entry_bytes} bytes",
                    name,
                )
        # Entries must not overlap each other or the central directory (quoted-overlap and
        # forged-compress_size bombs).
        offsets: dict[int, str] = {}
        for info in infos:
            if info.header_offset in offsets:
                raise reject(
                    "PACKAGE_OVERLAPPING_ENTRIES",
                    f"two entries share the data of {offsets[info.header_offset]!r}",
                    info.filename,
                )
            offsets[info.header_offset] = info.filename
        spans = sorted((*_local_header_end(f, info, size), info.filename) for info in infos)
        previous_end = 0
        for start, end, name in spans:
            if start < previous_end:
                raise reject("PACKAGE_OVERLAPPING_ENTRIES", "entries overlap", name)
            previous_end = end
        if previous_end > cd_offset:
            raise reject(
                "PACKAGE_OVERLAPPING_ENTRIES",
                "an entry overlaps the central directory",
                spans[-1][2],
            )

        entries: list[Entry] = []
        total = 0
        kept: dict[str, bytes] = {}
        wanted = {MANIFEST_PATH, VSIX_MANIFEST_PATH}
        icon = _icon_path(archive, infos, limits)
        if icon:
            wanted.add(icon)
        for info in infos:
            if info.is_dir():
                continue
            digest = hashlib.sha256()
            count = 0
            head = b""
            keep = info.filename in wanted or (
                _servable(info.filename) and info.file_size <= MAX_SERVED_FILE_BYTES
            )
            buffer = io.BytesIO() if keep else None
            try:
                with archive.open(info) as member:
                    while True:
                        chunk = member.read(READ_CHUNK)
                        if not chunk:
                            break
                        count += len(chunk)
                        total += len(chunk)
                        if count > limits.max_entry_bytes:
                            raise reject(
                                "PACKAGE_ENTRY_TOO_LARGE",
                                f"an entry inflates past {limits.max_entry_bytes} bytes",
                                info.filename,
                            )
                        if total > limits.max_uncompressed_bytes:
                            raise reject(
                                "PACKAGE_UNCOMPRESSED_TOO_LARGE",
                                f"the package inflates past {limits.max_uncompressed_bytes} bytes",
                                info.filename,
                            )
                        if len(head) < 512:
                            head += chunk[: 512 - len(head)]
                        digest.update(chunk)
                        if buffer is not None:
                            if (
                                info.filename == MANIFEST_PATH
                                and buffer.tell() + len(chunk) > limits.max_manifest_bytes
                            ):
                                raise reject(
                                    "MANIFEST_TOO_LARGE",
                                    f"the manifest is larger than {limits.max_manifest_bytes} "
                                    "bytes",
                                    MANIFEST_PATH,
                                )
                            buffer.write(chunk)
                        if on_progress is not None:
                            on_progress()
            except InvalidArgument:
                raise
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                ValueError,
                struct.error,
                OverflowError,
            ):
                raise reject(
                    "PACKAGE_CORRUPT",
                    "an entry cannot be decompressed (bad data or CRC)",
                    info.filename,
                ) from None
            except NotImplementedError:
                raise reject(
                    "PACKAGE_UNSUPPORTED_COMPRESSION", "unsupported compression", info.filename
                ) from None
            if count != info.file_size:
                raise reject(
                    "PACKAGE_ENTRY_SIZE_MISMATCH",
                    "an entry's declared and actual sizes differ",
                    info.filename,
                )
            if _is_archive(head):
                raise reject(
                    "PACKAGE_NESTED_ARCHIVE",
                    "archives inside the package are not allowed",
                    info.filename,
                )
            entries.append(Entry(info.filename, count, digest.hexdigest(), info.compress_size))
            if buffer is not None:
                kept[info.filename] = buffer.getvalue()

    if MANIFEST_PATH not in kept:
        raise reject("MANIFEST_MISSING", "the package has no extension/package.json", MANIFEST_PATH)
    manifest = decode_manifest(kept[MANIFEST_PATH], limits)
    platform, pre = ("", None)
    if VSIX_MANIFEST_PATH in kept:
        platform, pre = _vsix_properties(kept[VSIX_MANIFEST_PATH])
    fields = _parse_package(manifest, platform, pre)
    package = PackageInfo(
        **fields,
        entries=sorted(entries, key=lambda e: e.path),
        uncompressed_bytes=total,
        manifest=manifest,
    )
    package.files = _files(kept, manifest)
    return package


def _servable(path: str) -> bool:
    lower = path.lower()
    return lower.count("/") == 1 and lower.startswith(
        ("extension/readme", "extension/changelog", "extension/license")
    )


def _icon_path(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits) -> str:
    """The icon named by package.json, read in a bounded pre-pass (errors surface later)."""
    info = next((i for i in infos if i.filename == MANIFEST_PATH), None)
    if info is None or info.file_size > limits.max_manifest_bytes:
        return ""
    try:
        with archive.open(info) as member:
            raw = member.read(limits.max_manifest_bytes + 1)
        manifest = decode_manifest(raw, limits)
    except Exception:
        return ""
    icon = manifest.get("icon")
    if not isinstance(icon, str) or not icon or len(icon) > 1024:
        return ""
    return "extension/" + icon.removeprefix("./")


def _files(kept: dict[str, bytes], manifest: dict[str, Any]) -> dict[str, tuple[str, str, bytes]]:
    files: dict[str, tuple[str, str, bytes]] = {
        "manifest": (MANIFEST_PATH, "application/json", kept[MANIFEST_PATH])
    }
    by_lower = {p.lower(): p for p in kept}
    for kind, prefix in (
        ("readme", "extension/readme"),
        ("changelog", "extension/changelog"),
        ("license", "extension/license"),
    ):
        for lower in sorted(by_lower):
            if lower.startswith(prefix) and lower.count("/") == 1:
                path = by_lower[lower]
                files[kind] = (path, content_type(path), kept[path])
                break
    icon = manifest.get("icon")
    if isinstance(icon, str) and icon:
        path = "extension/" + icon.removeprefix("./")
        if path in kept:
            files["icon"] = (path, content_type(path), kept[path])
    return {k: v for k, v in files.items() if len(v[2]) <= MAX_SERVED_FILE_BYTES}


def check_hints(
    info: PackageInfo,
    *,
    namespace: str = "",
    target_platform: str = "",
    pre_release: bool | None = None,
) -> None:
    """The publisher's upload metadata, checked against what the package says."""
    if namespace and namespace.casefold() != info.namespace.casefold():
        raise reject(
            "NAMESPACE_MISMATCH",
            f"the package's publisher is '{info.namespace}'",
            "metadata.namespace",
        )
    if target_platform:
        if target_platform not in TARGET_PLATFORMS:
            raise reject(
                "TARGET_PLATFORM_INVALID", "unknown target platform", "metadata.target_platform"
            )
        declared = info.target_platform
        if declared != "universal" and declared != target_platform:
            raise reject(
                "TARGET_PLATFORM_MISMATCH",
                f"the package targets '{declared}'",
                "metadata.target_platform",
            )
        info.target_platform = target_platform
    if pre_release is not None:
        # Only the explicit vsixmanifest flag can contradict; a package silent on it takes the hint.
        if info.pre_release and not pre_release:
            raise reject(
                "PRE_RELEASE_MISMATCH", "the package is marked pre-release", "metadata.pre_release"
            )
        info.pre_release = info.pre_release or pre_release
