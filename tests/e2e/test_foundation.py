"""The whole system as real processes: the gateway serves health and an OpenAPI document with
every service's routes, each service answers health and reflection, errors come back in the
envelope with a request id, and one round trip per service goes from HTTP through the gateway
to PostgreSQL and back."""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from symphony_common.devstack import RunningStack
from symphony_common.grpc.reflect import Reflector

SERVICES = ("auth", "registry", "sync", "analytics")


@pytest.fixture(scope="module")
def http(stack: RunningStack):
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        yield client


def test_healthz_is_ok_when_every_backend_serves(http: httpx.Client) -> None:
    response = http.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"]


def test_openapi_lists_the_routes_of_all_four_services(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    paths = set(document["paths"])
    for expected in (
        "/v1/auth:login",
        "/v1/users/me",
        "/v1/sync:push",
        "/v1/sync/changes",
        "/v1/extensions:search",
        "/v1/events:batchIngest",
        "/v1/analytics/schema",
        "/.well-known/jwks.json",
    ):
        assert expected in paths, expected


@pytest.mark.parametrize("svc", SERVICES)
def test_each_service_serves_health_and_reflection(stack: RunningStack, svc: str) -> None:
    with grpc.insecure_channel(stack.grpc_address(svc)) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        listed = Reflector(channel).services()
    assert f"symphony.{svc}.v1.{svc.capitalize()}Service" in listed
    assert f"symphony.{svc}.v1.{svc.capitalize()}InternalService" in listed


def test_unknown_route_is_a_404_envelope_with_request_id(http: httpx.Client) -> None:
    response = http.get("/v1/no-such-thing", headers={"x-request-id": "e2e-req-1"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "e2e-req-1"
    error = response.json()["error"]
    assert error["code"] == 404 and error["status"] == "NOT_FOUND" and error["message"]


def test_malformed_json_is_a_400_naming_the_problem(http: httpx.Client) -> None:
    response = http.post(
        "/v1/auth:login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_wrong_field_type_is_a_400_naming_the_field(http: httpx.Client) -> None:
    response = http.post("/v1/auth:login", json={"email": {"nested": True}, "password": "x"})
    assert response.status_code == 400
    assert "email" in response.json()["error"]["message"]


def test_invalid_page_token_is_a_400(http: httpx.Client) -> None:
    response = http.get("/v1/extensions:search", params={"query": "x", "pageToken": "garbage"})
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_unauthenticated_call_is_a_401_with_www_authenticate(http: httpx.Client) -> None:
    response = http.get("/v1/users/me")
    assert response.status_code == 401
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")


# --- one round trip per service: HTTP → gateway → service → PostgreSQL → back -------------


@pytest.fixture(scope="module")
def user(http: httpx.Client) -> dict[str, str]:
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery staple"
    created = http.post(
        "/v1/users", json={"user": {"email": email, "displayName": "E2E"}, "password": password}
    )
    assert created.status_code == 200, created.text
    login = http.post("/v1/auth:login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["tokenType"] == "Bearer" and tokens["expiresIn"] > 0
    return {"email": email, "access": tokens["accessToken"], "refresh": tokens["refreshToken"]}


def test_auth_round_trip(http: httpx.Client, user: dict[str, str]) -> None:
    me = http.get("/v1/users/me", headers={"authorization": f"Bearer {user['access']}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == user["email"]
    jwks = http.get("/.well-known/jwks.json").json()
    assert jwks["keys"] and all(k["kty"] == "OKP" and k["crv"] == "Ed25519" for k in jwks["keys"])


def test_sync_round_trip(http: httpx.Client, user: dict[str, str]) -> None:
    auth = {"authorization": f"Bearer {user['access']}"}
    import base64

    value = base64.b64encode(b'{"editor.fontSize": 14}').decode()
    pushed = http.post(
        "/v1/sync:push",
        headers=auth,
        json={
            "requestId": str(uuid.uuid4()),
            "changes": [
                {
                    "collection": "settings",
                    "key": "settings.json",
                    "value": value,
                    "contentType": "application/json",
                    "baseRevision": "0",
                }
            ],
        },
    )
    assert pushed.status_code == 200, pushed.text
    item = http.get("/v1/sync/collections/settings/items/settings.json", headers=auth)
    assert item.status_code == 200, item.text
    assert base64.b64decode(item.json()["value"]) == b'{"editor.fontSize": 14}'


def test_registry_round_trip(http: httpx.Client, user: dict[str, str]) -> None:
    auth = {"authorization": f"Bearer {user['access']}"}
    name = f"e2e{uuid.uuid4().hex[:8]}"
    created = http.post("/v1/namespaces", headers=auth, json={"namespaceId": name})
    assert created.status_code == 200, created.text
    fetched = http.get(f"/v1/namespaces/{name}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["name"] == f"namespaces/{name}"
    missing = http.get("/v1/namespaces/definitely-not-there-x1")
    assert missing.status_code == 404


def test_analytics_round_trip(http: httpx.Client) -> None:
    before = http.get("/v1/analytics/dropped")
    assert before.status_code == 200, before.text
    event = {
        "eventId": str(uuid.uuid4()),
        "name": "no_such_event_e2e",
        "clientTime": "2026-01-01T00:00:00Z",
    }
    ingested = http.post("/v1/events:batchIngest", json={"events": [event]})
    assert ingested.status_code == 200, ingested.text
    answer = ingested.json()
    assert answer.get("rejectedCount", 0) == 1 or len(answer.get("rejected", [])) == 1, answer
    after = http.get("/v1/analytics/dropped")
    assert after.status_code == 200
    assert after.text != before.text
