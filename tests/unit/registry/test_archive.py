"""RG-1: a generated malicious-archive corpus (built here, nothing downloaded), every case
refused with INVALID_ARGUMENT and its specific reason, fast, in bounded memory, creating no file."""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import stat
import struct
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from symphony_common.errors import InvalidArgument
from symphony_registry.domain.archive import Limits, check_hints, validate_package
from tests.integration.registry.vsix import CONTENT_TYPES, build_vsix, package_json, vsix_manifest

MIB = 1024 * 1024


def _zip(
    entries: list[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of some cases
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buf.getvalue()


def _base(
    extra: list[tuple[str | zipfile.ZipInfo, bytes]] | None = None, manifest: bytes | None = None
) -> bytes:
    pkg = manifest if manifest is not None else json.dumps(package_json()).encode()
    return _zip(
        [
            ("[Content_Types].xml", CONTENT_TYPES.encode()),
            (
                "extension.vsixmanifest",
                vsix_manifest("acme", "tools", "1.0.0", None, False, "t").encode(),
            ),
            ("extension/package.json", pkg),
            *(extra or []),
        ]
    )


def _central(data: bytes) -> list[int]:
    """Offsets of the central directory records."""
    eocd = data.rfind(b"PK\x05\x06")
    count, _size, offset = (
        struct.unpack("<HIIxx", data[eocd + 10 : eocd + 22])[0:3]
        if False
        else (
            struct.unpack("<H", data[eocd + 10 : eocd + 12])[0],
            0,
            struct.unpack("<I", data[eocd + 16 : eocd + 20])[0],
        )
    )
    offsets = []
    pos = offset
    for _ in range(count):
        offsets.append(pos)
        n, e, c = struct.unpack("<HHH", data[pos + 28 : pos + 34])
        pos += 46 + n + e + c
    return offsets


def _patch(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    return data[:pos] + struct.pack(fmt, value) + data[pos + struct.calcsize(fmt) :]


def _info(name: str, **attrs: object) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    for k, v in attrs.items():
        setattr(info, k, v)
    return info


def symlink() -> bytes:
    info = _info("extension/link", create_system=3, external_attr=(stat.S_IFLNK | 0o777) << 16)
    return _base([(info, b"/etc/passwd")])


def overlapping() -> bytes:
    data = _base([("extension/a.txt", b"a" * 100), ("extension/b.txt", b"b" * 100)])
    cds = _central(data)
    a_offset = struct.unpack("<I", data[cds[3] + 42 : cds[3] + 46])[0]
    return _patch(data, cds[4] + 42, "<I", a_offset)  # b's record points at a's local header


def forged_compress_size() -> bytes:
    data = _base(
        [("extension/a.txt", b"hello" * 50), ("extension/b.txt", b"world" * 50)],
    )
    cds = _central(data)
    local = struct.unpack("<I", data[cds[3] + 42 : cds[3] + 46])[0]
    csize = struct.unpack("<I", data[cds[3] + 20 : cds[3] + 24])[0] + 200
    data = _patch(data, cds[3] + 20, "<I", csize)
    return _patch(data, local + 18, "<I", csize)


def small_declared_large_actual() -> bytes:
    data = _base([("extension/a.txt", b"x" * 100_000)])
    cds = _central(data)
    local = struct.unpack("<I", data[cds[3] + 42 : cds[3] + 46])[0]
    data = _patch(data, cds[3] + 24, "<I", 10)
    return _patch(data, local + 22, "<I", 10)


def large_declared() -> bytes:
    data = _base([("extension/a.txt", b"x" * 1000)])
    cds = _central(data)
    local = struct.unpack("<I", data[cds[3] + 42 : cds[3] + 46])[0]
    data = _patch(data, cds[3] + 24, "<I", 3_000_000_000)
    return _patch(data, local + 22, "<I", 3_000_000_000)


def many_entries() -> bytes:
    return _base(
        [(f"extension/f{i}", b"") for i in range(100_000)],
    )


def non_utf8_name() -> bytes:
    data = _base([("extension/\u00ff.txt", b"x")])
    return data.replace("extension/\u00ff.txt".encode(), b"extension/\xff\xfe.txt")


def cp437_name() -> bytes:
    data = _base([("extension/\u00ff.txt", b"x")])
    cds = _central(data)
    local = struct.unpack("<I", data[cds[3] + 42 : cds[3] + 46])[0]
    flags = struct.unpack("<H", data[cds[3] + 8 : cds[3] + 10])[0] & ~0x800
    data = _patch(data, cds[3] + 8, "<H", flags)
    return _patch(data, local + 6, "<H", flags)


def encrypted() -> bytes:
    data = _base([("extension/secret.js", b"x" * 10)])
    cds = _central(data)
    local = struct.unpack("<I", data[cds[3] + 42 : cds[3] + 46])[0]
    flags = struct.unpack("<H", data[cds[3] + 8 : cds[3] + 10])[0] | 0x1
    data = _patch(data, cds[3] + 8, "<H", flags)
    return _patch(data, local + 6, "<H", flags)


def truncated_central_directory() -> bytes:
    data = _base([("extension/a.txt", b"a")])
    cds = _central(data)
    eocd = data.rfind(b"PK\x05\x06")
    return data[: cds[2]] + data[eocd:]  # directory records cut, end record kept


def nested_zip() -> bytes:
    return _base([("extension/inner.bin", _zip([("x.txt", b"x")]))])


def nested_gzip() -> bytes:
    return _base([("extension/data.dat", gzip.compress(b"x" * 100))])


def bomb_entry() -> bytes:
    return _base([("extension/zeros.bin", b"\0" * (33 * MIB))])


def huge_manifest() -> bytes:
    return _base(manifest=json.dumps({**package_json(), "pad": "x" * (10 * MIB)}).encode())


def deep_json() -> bytes:
    return _base(manifest=b'{"name":"tools","a":' + b"[" * 10_000 + b"]" * 10_000 + b"}")


CASES: list[tuple[str, Callable[[], bytes], set[str]]] = [
    ("dotdot", lambda: _base([("extension/../../evil.js", b"x")]), {"PACKAGE_PATH_TRAVERSAL"}),
    ("leading dotdot", lambda: _base([("../evil.js", b"x")]), {"PACKAGE_PATH_TRAVERSAL"}),
    ("dot segment", lambda: _base([("extension/./x.js", b"x")]), {"PACKAGE_PATH_TRAVERSAL"}),
    ("absolute", lambda: _base([("/etc/passwd", b"x")]), {"PACKAGE_ABSOLUTE_PATH"}),
    ("drive letter", lambda: _base([("C:/evil.js", b"x")]), {"PACKAGE_ABSOLUTE_PATH"}),
    ("backslash", lambda: _base([("extension\\..\\evil.js", b"x")]), {"PACKAGE_BACKSLASH_PATH"}),
    ("windows path", lambda: _base([("C:\\Windows\\evil.dll", b"x")]), {"PACKAGE_BACKSLASH_PATH"}),
    ("symlink", symlink, {"PACKAGE_SYMLINK"}),
    (
        "duplicate manifest",
        lambda: _base([("extension/package.json", b"{}")]),
        {"PACKAGE_DUPLICATE_ENTRY"},
    ),
    (
        "case duplicate manifest",
        lambda: _base([("extension/Package.json", b"{}")]),
        {"PACKAGE_CASE_DUPLICATE_ENTRY"},
    ),
    ("overlapping entries", overlapping, {"PACKAGE_OVERLAPPING_ENTRIES"}),
    (
        "forged compress_size",
        forged_compress_size,
        {"PACKAGE_OVERLAPPING_ENTRIES", "PACKAGE_ENTRY_SIZE_MISMATCH", "PACKAGE_CORRUPT"},
    ),
    (
        "small declared, large actual",
        small_declared_large_actual,
        {"PACKAGE_ENTRY_SIZE_MISMATCH", "PACKAGE_CORRUPT"},
    ),
    ("large declared", large_declared, {"PACKAGE_ENTRY_TOO_LARGE"}),
    ("100k tiny entries", many_entries, {"PACKAGE_TOO_MANY_ENTRIES"}),
    ("deep path", lambda: _base([("extension/" + "d/" * 40 + "x.js", b"x")]), {"PACKAGE_TOO_DEEP"}),
    (
        "4 KiB name",
        lambda: _base([("extension/" + "n" * 4096, b"x")]),
        {"PACKAGE_ENTRY_NAME_INVALID"},
    ),
    ("non-UTF-8 name", non_utf8_name, {"PACKAGE_ENTRY_NAME_INVALID"}),
    ("unflagged non-ASCII name", cp437_name, {"PACKAGE_ENTRY_NAME_INVALID"}),
    (
        "control character name",
        lambda: _base([("extension/a\x07b.js", b"x")]),
        {"PACKAGE_ENTRY_NAME_INVALID"},
    ),
    ("encrypted entry", encrypted, {"PACKAGE_ENCRYPTED_ENTRY"}),
    (
        "bzip2 entry",
        lambda: _base([(_info("extension/a.js", compress_type=zipfile.ZIP_BZIP2), b"x" * 100)]),
        {"PACKAGE_UNSUPPORTED_COMPRESSION"},
    ),
    (
        "lzma entry",
        lambda: _base([(_info("extension/a.js", compress_type=zipfile.ZIP_LZMA), b"x" * 100)]),
        {"PACKAGE_UNSUPPORTED_COMPRESSION"},
    ),
    (
        "truncated central directory",
        truncated_central_directory,
        {"PACKAGE_CORRUPT", "PACKAGE_NOT_ZIP"},
    ),
    ("truncated archive", lambda: _base()[:-30], {"PACKAGE_NOT_ZIP", "PACKAGE_CORRUPT"}),
    ("not a zip", lambda: os.urandom(5000), {"PACKAGE_NOT_ZIP"}),
    (
        "prepended data (polyglot)",
        lambda: b"MZ\x90\x00" + b"\0" * 60 + _base(),
        {"PACKAGE_NOT_ZIP"},
    ),
    ("nested zip", nested_zip, {"PACKAGE_NESTED_ARCHIVE"}),
    ("nested gzip", nested_gzip, {"PACKAGE_NESTED_ARCHIVE"}),
    ("decompression bomb entry", bomb_entry, {"PACKAGE_ENTRY_TOO_LARGE"}),
    ("10 MB manifest", huge_manifest, {"MANIFEST_TOO_LARGE"}),
    ("10,000-level JSON", deep_json, {"MANIFEST_TOO_DEEP"}),
    (
        "UTF-16 manifest",
        lambda: _base(manifest=json.dumps(package_json()).encode("utf-16")),
        {"MANIFEST_ENCODING_INVALID"},
    ),
    (
        "UTF-8 BOM manifest",
        lambda: _base(manifest=b"\xef\xbb\xbf" + json.dumps(package_json()).encode()),
        {"MANIFEST_ENCODING_INVALID"},
    ),
    ("invalid JSON", lambda: _base(manifest=b"{not json"), {"MANIFEST_JSON_INVALID"}),
    ("manifest missing", lambda: _zip([("extension/readme.md", b"x")]), {"MANIFEST_MISSING"}),
    (
        "bad extension name",
        lambda: _base(manifest=json.dumps(package_json(name="bad name!")).encode()),
        {"EXTENSION_NAME_INVALID"},
    ),
    (
        "bad version",
        lambda: _base(manifest=json.dumps(package_json(version="1.0")).encode()),
        {"VERSION_INVALID"},
    ),
    (
        "reserved version",
        lambda: _base(manifest=json.dumps(package_json(version="latest")).encode()),
        {"VERSION_RESERVED"},
    ),
    (
        "bad engine range",
        lambda: _base(manifest=json.dumps(package_json(engines={"vscode": "^^1..x"})).encode()),
        {"ENGINE_RANGE_INVALID"},
    ),
    (
        "control characters in displayName",
        lambda: _base(manifest=json.dumps(package_json(displayName="evil\u202ename")).encode()),
        {"MANIFEST_FIELD_INVALID"},
    ),
    (
        "overlong description",
        lambda: _base(manifest=json.dumps(package_json(description="d" * 3000)).encode()),
        {"MANIFEST_FIELD_INVALID"},
    ),
    (
        "entity expansion in vsixmanifest",
        lambda: _zip(
            [
                (
                    "extension.vsixmanifest",
                    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
                ),
                ("extension/package.json", json.dumps(package_json()).encode()),
            ]
        ),
        {"MANIFEST_FIELD_INVALID"},
    ),
    (
        "unknown target platform",
        lambda: _zip(
            [
                (
                    "extension.vsixmanifest",
                    vsix_manifest("acme", "tools", "1.0.0", "plan9-mips", False, "t").encode(),
                ),
                ("extension/package.json", json.dumps(package_json()).encode()),
            ]
        ),
        {"TARGET_PLATFORM_INVALID"},
    ),
    ("empty upload", lambda: b"", {"UPLOAD_EMPTY"}),
]


def _validate(data: bytes, limits: Limits | None = None):  # type: ignore[no-untyped-def]
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        return validate_package(f, len(data), limits or Limits())


def test_corpus_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize(("label", "make", "reasons"), CASES, ids=[c[0] for c in CASES])
def test_malicious_archive_is_refused(
    label: str, make: Callable[[], bytes], reasons: set[str], tmp_path: Path
) -> None:
    data = make()
    sentinel = Path(tempfile.gettempdir())
    before = set(os.listdir(sentinel))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(InvalidArgument) as caught:
        _validate(data)
    elapsed = time.perf_counter() - started
    assert caught.value.reason in reasons, (label, caught.value.reason, caught.value.message)
    assert caught.value.field_violations, "the offending file or field is named"
    assert elapsed < 2.0, f"{label} took {elapsed:.2f}s"
    growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert growth_kib < 256 * 1024
    leftover = {n for n in set(os.listdir(sentinel)) - before if not n.startswith("pytest")}
    assert not leftover, leftover


def test_total_uncompressed_bytes_are_counted_from_output() -> None:
    data = _base([(f"extension/z{i}.bin", b"\0" * (5 * MIB)) for i in range(5)])
    with pytest.raises(InvalidArgument) as caught:
        _validate(data, Limits(max_uncompressed_bytes=20 * MIB))
    assert caught.value.reason == "PACKAGE_UNCOMPRESSED_TOO_LARGE"


def test_package_size_limit() -> None:
    with pytest.raises(InvalidArgument) as caught:
        _validate(build_vsix(), Limits(max_package_bytes=100))
    assert caught.value.reason == "PACKAGE_TOO_LARGE"


def test_valid_package_is_described() -> None:
    data = build_vsix(
        "acme",
        "tools",
        "1.2.3-beta.1",
        target_platform="linux-x64",
        pre_release=True,
        keywords=["a", "b"],
        icon="icon.png",
        files={
            "extension/icon.png": b"\x89PNG\r\n\x1a\n" + b"0" * 10,
            "extension/CHANGELOG.md": "# 1.2.3",
        },
    )
    info = _validate(data)
    assert (info.namespace, info.name, info.version, info.target_platform, info.pre_release) == (
        "acme",
        "tools",
        "1.2.3-beta.1",
        "linux-x64",
        True,
    )
    assert info.tags == ["a", "b"]
    assert {"manifest", "readme", "changelog", "icon"} <= set(info.files)
    assert [e.path for e in info.entries] == sorted(e.path for e in info.entries)
    with pytest.raises(InvalidArgument) as caught:
        check_hints(info, namespace="other")
    assert caught.value.reason == "NAMESPACE_MISMATCH"
    with pytest.raises(InvalidArgument) as caught:
        check_hints(info, target_platform="darwin-arm64")
    assert caught.value.reason == "TARGET_PLATFORM_MISMATCH"
