"""Token formats and hashing. Every secret auth hands out is stored only as its SHA-256."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import zlib

PAT_PREFIX = "symp_"
REFRESH_PREFIX = "symr_"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, 20 letters
PAT_RANDOM_CHARS = 22  # 22 base62 characters = 130.9 bits
PAT_CHECKSUM_CHARS = 6
_PAT = re.compile(
    rf"^{PAT_PREFIX}([0-9A-Za-z]{{{PAT_RANDOM_CHARS}}})([0-9A-Za-z]{{{PAT_CHECKSUM_CHARS}}})$"
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def random_token(nbytes: int = 32) -> str:
    return b64(secrets.token_bytes(nbytes))


def _base62(number: int, width: int) -> str:
    out = []
    while number:
        number, rem = divmod(number, 62)
        out.append(BASE62[rem])
    return "".join(reversed(out)).rjust(width, "0")


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), PAT_CHECKSUM_CHARS)


def new_personal_access_token() -> str:
    body = "".join(secrets.choice(BASE62) for _ in range(PAT_RANDOM_CHARS))
    return f"{PAT_PREFIX}{body}{_checksum(body)}"


def pat_well_formed(token: str) -> bool:
    match = _PAT.match(token)
    return bool(match) and _checksum(match.group(1)) == match.group(2)  # type: ignore[union-attr]


def new_refresh_token() -> str:
    return REFRESH_PREFIX + random_token(32)


def refresh_successor(token: str) -> str:
    """The successor of a refresh token is derived from its value, so a retry of the same
    token within the grace window gets the same successor without storing it anywhere. Only
    SHA-256 digests of tokens are stored (with another input), so a database dump cannot
    derive successors."""
    return REFRESH_PREFIX + b64(
        hashlib.sha256(b"symphony-refresh-successor:" + token.encode()).digest()
    )


def new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))


def normalise_user_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch not in "- \t")


def display_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def pkce_challenge(verifier: str) -> str:
    return b64(hashlib.sha256(verifier.encode()).digest())
