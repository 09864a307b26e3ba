from __future__ import annotations

import pytest

from symphony_common.errors import InvalidArgument
from symphony_common.pagination import MAX_PAGE_SIZE, PageTokenCodec, page_size


def test_round_trip_bound_to_query() -> None:
    codec = PageTokenCodec("secret")
    token = codec.encode({"after": 42}, {"collection": "settings"})
    assert codec.decode(token, {"collection": "settings"}) == {"after": 42}
    assert codec.decode("", {"collection": "settings"}) is None
    with pytest.raises(InvalidArgument) as info:
        codec.decode(token, {"collection": "keybindings"})
    assert info.value.reason == "INVALID_PAGE_TOKEN"
    assert info.value.field_violations[0].field == "page_token"


@pytest.mark.parametrize("token", ["garbage", "!!!", "a" * 5000, "AAAA", "eyJwIjp7fX0"])
def test_garbage_is_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument):
        PageTokenCodec("secret").decode(token)


def test_tampered_or_foreign_token_is_refused() -> None:
    token = PageTokenCodec("secret").encode({"after": 1})
    with pytest.raises(InvalidArgument):
        PageTokenCodec("another-secret").decode(token)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidArgument):
        PageTokenCodec("secret").decode(flipped)


def test_page_size_rules() -> None:
    assert page_size(0) == 50
    assert page_size(10) == 10
    assert page_size(10**6) == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument):
        page_size(-1)
