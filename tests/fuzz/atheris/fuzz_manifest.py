"""IN-4 harness: the registry's manifest parsers, without the zip around them.

Input: the bytes of `extension/package.json`, fed to `decode_manifest` (size, encoding, depth,
JSON) and its object to `_parse_package` (the fields: name, publisher, version, engines ranges,
license, URLs, lists); the same bytes go to `_vsix_properties` (extension.vsixmanifest XML), so
the corpus holds both kinds. Both are what `validate_package` calls on an archive's members;
the VSIX harness reaches them only through a zip, this one directly.
Expected: `InvalidArgument`. Anything else, an input over 1 s or over the RSS limit, is a crash.
"""

from __future__ import annotations

import atheris
from in4_support import fuzz

with atheris.instrument_imports(include=["symphony_registry"]):
    from symphony_common.errors import InvalidArgument
    from symphony_registry.domain import archive

LIMITS = archive.Limits()  # the service's defaults (RegistrySettings)


def test_one_input(data: bytes) -> None:
    try:
        manifest = archive.decode_manifest(data, LIMITS)
        archive._parse_package(manifest, "", None)
    except InvalidArgument:
        pass
    try:
        platform, pre_release = archive._vsix_properties(data)
    except InvalidArgument:
        return
    assert isinstance(platform, str) and pre_release in (None, True, False)


if __name__ == "__main__":
    fuzz(test_one_input)
