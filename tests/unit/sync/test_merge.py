"""Three-way JSON merge (server and client rule) and the stored-result codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from symphony_client.sync.merge import three_way as client_three_way
from symphony_sync.domain import merge
from symphony_sync.domain.models import ChangeResult, Item, Outcome, PushResult, from_json, to_json


def test_disjoint_changes_merge() -> None:
    out = merge.three_way({"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 1, "b": 3, "c": 4})
    assert out.merged == {"a": 2, "b": 3, "c": 4} and out.conflicts == []


def test_deletions_merge_and_same_change_is_no_conflict() -> None:
    out = merge.three_way({"a": 1, "b": 1}, {"b": 1}, {"a": 1, "b": 1, "c": 1})
    assert out.merged == {"b": 1, "c": 1}
    assert merge.three_way({"a": 1}, {"a": 2}, {"a": 2}).conflicts == []


def test_overlap_is_a_conflict_with_all_three_values_and_server_proposal() -> None:
    out = merge.three_way({"t": "light"}, {"t": "dark"}, {"t": "solarized", "x": 1})
    assert [(c.key, c.base_value, c.server_value, c.client_value) for c in out.conflicts] == [
        ("t", b'"light"', b'"dark"', b'"solarized"')
    ]
    assert out.merged == {"t": "dark", "x": 1}


def test_without_base_every_difference_conflicts() -> None:
    out = merge.three_way(None, {"a": 1, "b": 2}, {"a": 1, "b": 3})
    assert [c.key for c in out.conflicts] == ["b"] and out.conflicts[0].base_value is None


def test_key_order_does_not_matter() -> None:
    assert (
        merge.three_way(
            {"a": {"x": 1, "y": 2}}, {"a": {"y": 2, "x": 1}}, {"a": {"x": 1, "y": 2}}
        ).conflicts
        == []
    )


def test_parse_object_rejects_non_objects() -> None:
    assert merge.parse_object(b"[1]") is None and merge.parse_object(b"\xff") is None
    assert merge.parse_object(b'{"a":1}') == {"a": 1}


def test_client_rule_matches_the_server_rule() -> None:
    merged, conflicts = client_three_way({"a": 1}, {"a": 2, "b": 1}, {"a": 3}, prefer="client")
    assert merged == {"a": 3, "b": 1} and conflicts == ["a"]


def test_stored_results_round_trip() -> None:
    result = PushResult(
        [
            ChangeResult(
                0,
                Outcome.MERGED,
                Item(
                    "settings",
                    "k",
                    b"\x00{}",
                    revision=3,
                    update_time=datetime(2025, 1, 1, tzinfo=UTC),
                ),
            )
        ],
        3,
    )
    again = from_json(json.loads(json.dumps(to_json(result))))
    assert again == result


def test_parse_object_rejects_what_the_merge_could_not_write_back() -> None:
    """Found by IN-4: both passed validation, then crashed a stale-base merge (INTERNAL)."""
    assert merge.parse_object(b'{"\\ud800": 1}') is None  # lone surrogate: not UTF-8-encodable
    deep = b'{"a":' + b"[" * (merge.MAX_DEPTH + 1) + b"]" * (merge.MAX_DEPTH + 1) + b"}"
    assert merge.parse_object(deep) is None
    shallow = b'{"a":' + b"[" * (merge.MAX_DEPTH - 1) + b"]" * (merge.MAX_DEPTH - 1) + b"}"
    assert merge.parse_object(shallow) is not None
    assert merge.parse_object(b'{"smile": "\\ud83d\\ude00"}') == {"smile": "\U0001f600"}
