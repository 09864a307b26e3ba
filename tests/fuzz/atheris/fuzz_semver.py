"""IN-4 harness: the registry's SemVer 2.0 versions and npm-style ranges (`domain/semver.py`).

Input: text, up to four lines; each line is parsed as a version (`SemVer.parse`) and as a range
(`Range.parse`), and every range is asked whether it contains every version.
Expected: `None` for text that is not a version or a range; no exception. Beyond crashes the
harness checks what the module documents and the registry relies on:
  - a version prints back as its text (SemVer 2.0 is canonical: one text per version, so two
    texts cannot publish the same version twice);
  - `sort_key()` orders as SemVer precedence does ("a string whose byte order is SemVer
    precedence": the database sorts versions by it).
"""

from __future__ import annotations

import itertools

import atheris
from in4_support import fuzz

atheris.enabled_hooks.add("RegEx")  # the parsers are regexes: let the fuzzer see their matches
with atheris.instrument_imports(include=["symphony_registry"]):
    from symphony_registry.domain.semver import Range, SemVer


def test_one_input(data: bytes) -> None:
    lines = data.decode("utf-8", "surrogateescape").split("\n")[:4]
    versions: list[SemVer] = []
    for line in lines:
        version = SemVer.parse(line)
        if version is not None:
            assert str(version) == line, f"{line!r} parses as {version}"
            assert SemVer.parse(str(version)) == version
            versions.append(version)
    for a, b in itertools.product(versions, repeat=2):
        assert (a < b) == (a.sort_key() < b.sort_key()), f"sort_key orders {a} and {b} wrongly"
        assert (a == b) == (a.sort_key() == b.sort_key()), f"sort_key confuses {a} and {b}"
    for line in lines:
        ranges = Range.parse(line)
        if ranges is not None:
            for version in versions:
                ranges.contains(version)
                ranges.contains(version, include_prerelease=False)


if __name__ == "__main__":
    fuzz(test_one_input)
