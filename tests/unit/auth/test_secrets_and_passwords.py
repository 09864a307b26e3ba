from __future__ import annotations

import asyncio

import pytest

from symphony_auth.adapters.ratelimit import LocalRateLimiter
from symphony_auth.domain import secrets
from symphony_auth.domain.passwords import Argon2Hasher, check_policy, common_passwords
from symphony_common.errors import InvalidArgument


def test_pat_format_and_checksum() -> None:
    token = secrets.new_personal_access_token()
    assert token.startswith("symp_") and len(token) == 5 + 22 + 6
    assert secrets.pat_well_formed(token)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert not secrets.pat_well_formed(flipped)
    assert len({secrets.new_personal_access_token() for _ in range(1000)}) == 1000


def test_refresh_successor_is_deterministic_and_not_the_stored_digest() -> None:
    token = secrets.new_refresh_token()
    assert secrets.refresh_successor(token) == secrets.refresh_successor(token)
    assert secrets.refresh_successor(token) != token
    assert secrets.digest(token).hex() not in secrets.refresh_successor(token)


def test_user_codes() -> None:
    code = secrets.new_user_code()
    assert len(code) == 8 and set(code) <= set(secrets.USER_CODE_ALPHABET)
    assert secrets.normalise_user_code(" bdwp-hqpk ") == "BDWPHQPK"
    assert secrets.display_user_code("BDWPHQPK") == "BDWP-HQPK"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "PASSWORD_TOO_SHORT"),
        ("x" * 257, "PASSWORD_TOO_LONG"),
        ("password1", "PASSWORD_TOO_COMMON"),
        ("PASSWORD1", "PASSWORD_TOO_COMMON"),
    ],
)
def test_policy_refusals(password: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_policy(password)
    assert info.value.reason == reason


def test_policy_accepts_unicode_and_spaces_and_normalises() -> None:
    assert check_policy("ｆｕｌｌｗｉｄｔｈ pass") == "fullwidth pass"
    assert len(common_passwords()) == 3000


def test_hasher_round_trip_dummy_and_rehash() -> None:
    hasher = Argon2Hasher(memory_kib=1024, time_cost=1)
    stored = hasher.hash("a good passphrase")
    assert hasher.verify(stored, "a good passphrase") and not hasher.verify(
        stored, "a good passphrasf"
    )
    assert not hasher.verify(None, "a good passphrase")
    assert Argon2Hasher(memory_kib=19456, time_cost=2).needs_rehash(stored)


def test_local_rate_limiter_windows() -> None:
    now = [0.0]
    limiter = LocalRateLimiter(clock=lambda: now[0])

    async def run() -> None:
        for i in range(3):
            assert (await limiter.hit("k", 10))[0] == i + 1
        assert (await limiter.count("k"))[0] == 3
        now[0] = 11
        assert (await limiter.count("k"))[0] == 0

    asyncio.run(run())
