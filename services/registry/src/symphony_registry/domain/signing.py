"""Ed25519 signatures over a canonical package manifest (see PackageSignature in the proto)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical_manifest(
    *,
    extension_id: str,
    version: str,
    target_platform: str,
    package_sha256: str,
    package_size: int,
    entries: Iterable[tuple[str, str, int]],
) -> bytes:
    """RFC 8785-style JSON (sorted keys, no whitespace; every value here is a string or a
    small integer, for which JCS and `json.dumps` agree)."""
    body: dict[str, Any] = {
        "entries": [{"path": p, "sha256": s, "size": n} for p, s, n in sorted(entries)],
        "extension": extension_id,
        "format": 1,
        "package": {"sha256": package_sha256, "size": package_size},
        "targetPlatform": target_platform,
        "version": version,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def new_private_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def public_key_of(private_raw: bytes) -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(private_raw)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def public_key_pem(public_raw: bytes) -> str:
    return (
        Ed25519PublicKey.from_public_bytes(public_raw)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(private_raw: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private_raw).sign(message)


def verify(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
