"""Errors, limits, headers, health, CORS: what a client of the gateway sees."""

import uuid

import httpx

from symphony_gateway.app import create_app
from symphony_gateway.backends import Backends
from symphony_gateway.config import GatewaySettings


def assert_envelope(response: httpx.Response, http: int, status: str) -> dict:
    assert response.status_code == http, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == http
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    return error


async def test_unknown_route_is_404_envelope_with_request_id(gateway):
    response = await gateway.get("/v1/nothing/here")
    assert_envelope(response, 404, "NOT_FOUND")
    assert response.headers["x-request-id"]


async def test_wrong_method_is_405_with_allow(gateway):
    response = await gateway.delete("/v1/echo/x")
    assert_envelope(response, 405, "UNIMPLEMENTED")
    assert response.headers["allow"] == "GET, PATCH"


async def test_request_id_is_echoed_or_generated_on_every_response(gateway):
    given = str(uuid.uuid4())
    for method, url in [
        ("GET", "/v1/echo/x"),
        ("GET", "/nope"),
        ("GET", "/v1/echo/x?failWith=5"),
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
    ]:
        response = await gateway.request(method, url, headers={"x-request-id": given})
        assert response.headers["x-request-id"] == given, url
    fresh = await gateway.get("/nope")
    assert len(fresh.headers["x-request-id"]) == 32
    hostile = await gateway.get("/nope", headers={"x-request-id": "a\tb" + "x" * 300})
    assert hostile.headers["x-request-id"] != "a\tb" + "x" * 300


async def test_error_details_are_rendered_with_type(gateway):
    response = await gateway.get("/v1/echo/x?failWith=5")
    error = assert_envelope(response, 404, "NOT_FOUND")
    [info] = error["details"]
    assert info == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "ECHO_FAILURE",
        "domain": "testing.symphony.dev",
        "metadata": {"code": "NOT_FOUND"},
    }


async def test_status_codes_map_to_http(gateway):
    expected = {
        1: 499,
        3: 400,
        4: 504,
        6: 409,
        7: 403,
        9: 400,
        10: 409,
        11: 400,
        12: 501,
        13: 500,
        15: 500,
    }
    for code, http in expected.items():
        response = await gateway.get(f"/v1/echo/x?failWith={code}")
        assert response.status_code == http, (code, response.text)


async def test_unauthenticated_has_www_authenticate(gateway):
    response = await gateway.get("/v1/echo/x?failWith=16")
    assert_envelope(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_retry_info_becomes_retry_after(gateway):
    for code, http in [(8, 429), (14, 503)]:
        response = await gateway.get(f"/v1/echo/x?failWith={code}")
        assert response.status_code == http
        assert response.headers["retry-after"] == "3"


async def test_body_over_the_limit_is_413(gateway):
    big = {"message": "x" * 5000}
    response = await gateway.post("/v1/echo", json=big)
    assert_envelope(response, 413, "RESOURCE_EXHAUSTED")


async def test_streamed_body_over_the_limit_is_413_without_content_length(gateway):
    async def chunks():
        yield b'{"message": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = await gateway.post("/v1/echo", content=chunks())
    assert "content-length" not in response.request.headers
    assert_envelope(response, 413, "RESOURCE_EXHAUSTED")


async def test_backend_down_is_503_with_retry_after(settings, closed_port, client_for):
    backends = Backends({"testing": f"127.0.0.1:{closed_port}"})
    async with client_for(create_app(settings, backends)) as client:
        response = await client.get("/v1/echo/x")
        error = assert_envelope(response, 503, "UNAVAILABLE")
        assert response.headers["retry-after"] == "1"
        assert "127.0.0.1" not in error["message"]
        assert response.headers["x-request-id"]
        health = await client.get("/healthz")
        error = assert_envelope(health, 503, "UNAVAILABLE")
        assert "testing" in error["message"]
    await backends.close()


async def test_healthz_is_200_when_every_backend_serves(gateway):
    response = await gateway.get("/healthz")
    assert response.status_code == 200
    assert response.json()["backends"] == {"testing": "SERVING"}


async def test_healthz_names_the_failing_backend(echo_port, settings, closed_port, client_for):
    backends = Backends({"testing": f"127.0.0.1:{echo_port}", "auth": f"127.0.0.1:{closed_port}"})
    async with client_for(create_app(settings, backends)) as client:
        response = await client.get("/healthz")
    await backends.close()
    error = assert_envelope(response, 503, "UNAVAILABLE")
    assert "auth" in error["message"] and "testing" not in error["message"]


async def test_cors_preflight_for_configured_origin(gateway):
    response = await gateway.options(
        "/v1/echo/x",
        headers={
            "origin": "https://symphony.example",
            "access-control-request-method": "PATCH",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://symphony.example"
    assert "PATCH" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["x-request-id"]


async def test_cors_simple_request_exposes_request_id(gateway):
    response = await gateway.get("/v1/echo/x", headers={"origin": "https://symphony.example"})
    assert response.headers["access-control-allow-origin"] == "https://symphony.example"
    assert "x-request-id" in response.headers["access-control-expose-headers"]


async def test_cors_rejects_other_origins(gateway):
    response = await gateway.options(
        "/v1/echo/x",
        headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    simple = await gateway.get("/v1/echo/x", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_extra_routes_are_served_before_the_generic_router(echo_port, client_for):
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def raw(request):
        return PlainTextResponse(f"raw {request.path_params['name']} {request.state.request_id}")

    backends = Backends({"testing": f"127.0.0.1:{echo_port}"})
    app = create_app(
        GatewaySettings(), backends, extra_routes=[Route("/v1/echo/{name}", raw, methods=["GET"])]
    )
    async with client_for(app) as client:
        response = await client.get("/v1/echo/pkg", headers={"x-request-id": "rid-1"})
        assert response.text == "raw pkg rid-1"
        assert response.headers["x-request-id"] == "rid-1"
        not_allowed = await client.post("/v1/echo/pkg")
        assert_envelope(not_allowed, 405, "UNIMPLEMENTED")
    await backends.close()
