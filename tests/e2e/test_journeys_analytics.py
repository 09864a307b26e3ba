"""Issue 6 as an auditor, the editor and a publisher live it: read the public event schema,
send a batch of valid events built from it (and resend it: nothing counts twice), see a
rejected event in the dropped counters, query the time series and top events, and read an
extension's statistics as its namespace owner (everything) and as a stranger (groups under
the suppression threshold hidden)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from symphony_common.devstack import RunningStack
from tests.e2e.conftest import Cli, poll, publish_extension, register

SAMPLE_STRINGS = ("ada", "python", "workbench.action.files.save")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hour_range() -> dict[str, str]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return {
        "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endTime": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def sample_value(prop: dict[str, Any], extension: str) -> Any:
    kind = prop["type"]
    if kind == "PROPERTY_TYPE_ENUM":
        return prop["allowedValues"][0]
    if kind == "PROPERTY_TYPE_BOOL":
        return True
    if kind == "PROPERTY_TYPE_INT":
        return 42
    if kind == "PROPERTY_TYPE_DOUBLE":
        return 812.5
    if kind == "PROPERTY_TYPE_EXTENSION_ID":
        return extension
    if kind == "PROPERTY_TYPE_VERSION":
        return "1.2.0"
    if kind == "PROPERTY_TYPE_STRING":
        for value in SAMPLE_STRINGS:
            if not prop.get("pattern") or re.fullmatch(prop["pattern"], value):
                return value
    raise AssertionError(f"no sample for property {prop}")


def make_event(schema_event: dict[str, Any], install: str, extension: str = "acme.tools") -> dict:
    return {
        "eventId": str(uuid.uuid4()),
        "name": schema_event["name"],
        "clientTime": _now(),
        "installId": install,
        "sessionId": str(uuid.uuid4()),
        "editorVersion": "1.90.0",
        "platform": "linux-x64",
        "properties": {
            p["name"]: sample_value(p, extension) for p in schema_event.get("properties", [])
        },
    }


def _schema(web: httpx.Client) -> dict[str, Any]:
    response = web.get("/v1/analytics/schema")
    assert response.status_code == 200, response.text
    return response.json()


def _count(web: httpx.Client, event: str) -> int:
    series = web.get(
        "/v1/analytics/timeSeries",
        params={"event": event, "interval": "INTERVAL_HOUR", **_hour_range()},
    )
    assert series.status_code == 200, series.text
    return sum(int(p["eventCount"]) for s in series.json()["series"] for p in s["points"])


def test_schema_ingest_dedupe_dropped_and_queries(web: httpx.Client) -> None:
    schema = _schema(web)
    events = {e["name"]: e for e in schema["events"]}
    assert {"editor_started", "extension_installed"} <= set(events), sorted(events)
    assert schema["privacyPolicy"]["suppressionThreshold"] >= 1
    stored = set(schema["privacyPolicy"]["storedFields"])
    assert not stored & {"ip", "ip_address", "client_address", "user_id", "email"}, stored
    threshold = schema["privacyPolicy"]["suppressionThreshold"]

    before = {name: _count(web, name) for name in events}
    dropped_before = web.get("/v1/analytics/dropped").json()

    # One event of every kind from each of (threshold + 1) installs: all valid by the schema.
    installs = [str(uuid.uuid4()) for _ in range(threshold + 1)]
    batch = [make_event(e, install) for install in installs for e in events.values()]
    sent = web.post("/v1/events:batchIngest", json={"events": batch})
    assert sent.status_code == 200, sent.text
    answer = sent.json()
    assert answer.get("rejectedCount", 0) == 0, answer.get("rejectedEvents")
    assert answer["acceptedCount"] == len(batch), answer

    # The editor retries a batch whose answer it lost: nothing counts twice.
    retry = web.post("/v1/events:batchIngest", json={"events": batch})
    assert retry.status_code == 200, retry.text
    assert retry.json()["duplicateCount"] == len(batch)
    assert retry.json().get("acceptedCount", 0) == 0

    # An event with a property the schema does not allow is rejected with a reason...
    bad = make_event(events["file_opened"], installs[0])
    bad["properties"]["path"] = "/home/ada/secret.txt"
    rejected = web.post("/v1/events:batchIngest", json={"events": [bad]})
    assert rejected.status_code == 200, rejected.text
    (why,) = rejected.json()["rejectedEvents"]
    assert why["reason"] == "REJECTION_REASON_UNKNOWN_PROPERTY" and why["eventId"] == bad["eventId"]
    # ...and counted, so nothing is dropped silently.
    dropped = web.get("/v1/analytics/dropped").json()

    def by_reason(doc: dict) -> int:
        return sum(
            int(c["count"])
            for c in doc.get("counts", [])
            if c["reason"] == "REJECTION_REASON_UNKNOWN_PROPERTY"
        )

    assert by_reason(dropped) == by_reason(dropped_before) + 1, dropped
    assert int(dropped["acceptedTotal"]) >= int(dropped_before.get("acceptedTotal", 0)) + len(batch)

    # The time series and top events show the new events (rollups may lag up to a minute).
    for name in ("editor_started", "extension_installed"):
        poll(
            lambda name=name: _count(web, name) == before[name] + len(installs),
            timeout=75,
            interval=2,
            message=f"{name} counted once per install",
        )
    grouped = web.get(
        "/v1/analytics/timeSeries",
        params={"event": "editor_started", "interval": "INTERVAL_DAY", "groupBy": "platform"},
    )
    assert grouped.status_code == 200, grouped.text
    assert "linux-x64" in [s["group"] for s in grouped.json()["series"]]
    top = web.get("/v1/analytics/topEvents", params=_hour_range())
    assert top.status_code == 200, top.text
    listed = {e["event"]: int(e["eventCount"]) for e in top.json()["events"]}
    assert listed.get("editor_started", 0) >= len(installs), listed

    unknown = web.get("/v1/analytics/timeSeries", params={"event": "no_such_event"})
    assert unknown.status_code == 400, unknown.text


def test_publisher_sees_stats_of_own_extension(
    web: httpx.Client, stack: RunningStack, cli: Cli
) -> None:
    owner = register(web, stack, "stats-owner")
    namespace = f"stats{uuid.uuid4().hex[:8]}"
    publish_extension(web, stack, cli, owner, namespace, name="tools")
    ext_id = f"{namespace}.tools"
    url = f"/v1/namespaces/{namespace}/extensions/tools/versions/1.2.0:download"
    for _ in range(2):
        assert web.get(url).status_code == 200

    schema = {e["name"]: e for e in _schema(web)["events"]}
    threshold = _schema(web)["privacyPolicy"]["suppressionThreshold"]
    few = max(1, threshold - 1)  # fewer installs than the threshold
    installs = [str(uuid.uuid4()) for _ in range(few)]
    batch = [make_event(schema["extension_installed"], i, extension=ext_id) for i in installs]
    sent = web.post("/v1/events:batchIngest", json={"events": batch})
    assert sent.status_code == 200 and sent.json()["acceptedCount"] == few, sent.text

    stats_url = f"/v1/namespaces/{namespace}/extensions/tools/stats"

    def owner_view() -> dict | None:
        response = web.get(stats_url, headers=owner.auth)
        assert response.status_code == 200, response.text
        totals = response.json()["totals"]
        return (
            response.json()
            if (int(totals.get("downloads", 0)) >= 2 and totals.get("installs", 0) == few)
            else None
        )

    # Downloads travel through the registry's outbox: give them time.
    mine = poll(owner_view, timeout=60, interval=2, message="owner sees downloads and installs")
    assert mine["suppressionApplied"] is False
    assert [v["version"] for v in mine["versions"]] == ["1.2.0"]

    stranger = register(web, stack, "stats-stranger")
    for headers in ({}, stranger.auth):
        public = web.get(stats_url, headers=headers)
        assert public.status_code == 200, public.text
        body = public.json()
        assert body["suppressionApplied"] is True, body
        assert body["totals"].get("installs", 0) == 0 and body["totals"]["suppressed"] is True, (
            body["totals"]
        )

    missing = web.get(f"/v1/namespaces/{namespace}/extensions/nothing-here/stats")
    assert missing.status_code == 404, missing.text
