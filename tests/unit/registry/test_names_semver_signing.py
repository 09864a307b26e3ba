from __future__ import annotations

import pytest

from symphony_registry.domain.names import is_mixed_script, is_valid_name, skeleton, too_similar
from symphony_registry.domain.semver import Range, SemVer
from symphony_registry.domain.signing import (
    canonical_manifest,
    new_private_key,
    public_key_of,
    sign,
    verify,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Microsoft", "micros0ft"),
        ("acme", "ACME"),
        ("paypal", "pаypal"),
        ("modern", "modem"),
        ("my-tools", "my_tools"),
        ("clean", "dean"),
    ],
)
def test_confusable_skeletons(a: str, b: str) -> None:
    assert skeleton(a) == skeleton(b)


def test_mixed_script_and_similarity() -> None:
    assert is_mixed_script("pаypal") and not is_mixed_script("paypal")
    assert too_similar("python-tools", "pyhton-tools")
    assert not too_similar("python", "rust")
    assert not is_valid_name("a/b") and not is_valid_name("") and not is_valid_name("x" * 256)
    assert is_valid_name("acme-tools_1$~+")


def test_semver_precedence_and_key() -> None:
    order = [
        "0.9.0",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "10.0.0",
    ]
    parsed = [SemVer.parse(v) for v in order]
    assert all(p is not None for p in parsed)
    assert sorted(order, key=lambda v: SemVer.parse(v).sort_key()) == order  # type: ignore[union-attr]
    assert (
        SemVer.parse("01.0.0") is None
        and SemVer.parse("1.0") is None
        and SemVer.parse("latest") is None
    )


@pytest.mark.parametrize(
    ("rng", "yes", "no"),
    [
        ("^1.80.0", "1.85.2", "2.0.0"),
        ("~1.2.3", "1.2.9", "1.3.0"),
        (">=1.0.0 <2", "1.9.9", "2.0.0"),
        ("1.x || 3.x", "3.1.0", "2.0.0"),
        ("^0.2.3", "0.2.9", "0.3.0"),
        ("*", "9.9.9", None),
        ("1.2.0 - 1.4.0", "1.4.0", "1.4.1"),
    ],
)
def test_ranges(rng: str, yes: str, no: str | None) -> None:
    r = Range.parse(rng)
    assert r is not None
    assert r.contains(SemVer.parse(yes))  # type: ignore[arg-type]
    if no:
        assert not r.contains(SemVer.parse(no))  # type: ignore[arg-type]


def test_bad_ranges() -> None:
    for bad in ("^^1", "garbage!", ">=x.y", "1.2.3.4"):
        assert Range.parse(bad) is None, bad


def test_signature_over_canonical_manifest_detects_any_change() -> None:
    private = new_private_key()
    public = public_key_of(private)
    manifest = canonical_manifest(
        extension_id="acme.tools",
        version="1.0.0",
        target_platform="universal",
        package_sha256="a" * 64,
        package_size=10,
        entries=[("b", "c" * 64, 2), ("a", "d" * 64, 1)],
    )
    assert manifest.startswith(b'{"entries":[{"path":"a"')
    sig = sign(private, manifest)
    assert verify(public, sig, manifest)
    tampered = manifest.replace(b'"size":1}', b'"size":2}')
    assert not verify(public, sig, tampered)
    assert not verify(public, sig[:-1] + bytes([sig[-1] ^ 1]), manifest)


def test_versions_take_ascii_digits_of_at_most_ten_places() -> None:
    """Found by IN-4: "1٠.20.30" parsed as 10.20.30 (one version under two texts), and an
    11-digit pre-release number sorted before a 10-digit one in `sort_key`."""
    assert SemVer.parse("1\u0660.20.30") is None
    assert SemVer.parse("1.0.0-10000000000") is None
    nine, ten = SemVer.parse("1.0.0-999999999"), SemVer.parse("1.0.0-9999999999")
    assert nine is not None and ten is not None
    assert nine < ten and nine.sort_key() < ten.sort_key()
    assert Range.parse("^1\u0660.0.0") is None
