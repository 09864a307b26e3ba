"""IN-4 harness: the registry's VSIX validator (`archive.validate_package`, then `check_hints`).

Input: the first byte says how the rest becomes a package.
  bit 0 clear: the rest is the upload as it is (mutated zips: headers, directory, sizes, bombs);
  bit 0 set:   the rest lists members `name NUL content`, separated by `NUL NUL`, which the
               harness zips (deflated when bit 1 is set, else stored), so fuzzed names and
               contents (package.json, extension.vsixmanifest) reach the checks behind a
               well-formed archive.
Bits 2-7 pick the publisher's upload hints for `check_hints`.
Expected: `InvalidArgument`. Anything else, an input over 1 s or over the RSS limit, is a crash.
"""

from __future__ import annotations

import io
import warnings
import zipfile

import atheris
from in4_support import fuzz

with atheris.instrument_imports(include=["symphony_registry"]):
    from symphony_common.errors import InvalidArgument
    from symphony_registry.domain.archive import Limits, check_hints, validate_package

LIMITS = Limits()  # the service's defaults (RegistrySettings)
PLATFORMS = ("", "universal", "linux-x64", "web", "no-such-platform")
PRE_RELEASE = (None, True, False)


def build_zip(body: bytes, compression: int) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", compression) as archive:
        warnings.simplefilter("ignore")  # "Duplicate name": duplicates are a case to test
        for member in body.split(b"\x00\x00"):
            name, _, content = member.partition(b"\x00")
            archive.writestr(name.decode("utf-8", "replace") or "-", content)
    return out.getvalue()


def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, body = data[0], data[1:]
    if mode & 1:
        body = build_zip(body, zipfile.ZIP_DEFLATED if mode & 2 else zipfile.ZIP_STORED)
    try:
        info = validate_package(io.BytesIO(body), len(body), LIMITS)
        check_hints(
            info,
            namespace="acme" if mode & 4 else "",
            target_platform=PLATFORMS[(mode >> 3) % len(PLATFORMS)],
            pre_release=PRE_RELEASE[(mode >> 6) % len(PRE_RELEASE)],
        )
    except InvalidArgument:
        pass


if __name__ == "__main__":
    fuzz(test_one_input)
