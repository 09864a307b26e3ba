"""Every Echo binding through the gateway to a real grpc.aio echo server."""

import base64

import pytest


async def test_get_with_path_variable_and_query_parameters(gateway):
    response = await gateway.get(
        "/v1/echo/hello%20there",
        params=[
            ("tags", "a"),
            ("tags", "b"),
            ("bigNumber", "9007199254740993"),
            ("kind", "KIND_FANCY"),
            ("nested.numbers", "4"),
            ("nested.numbers", "5"),
            ("flag", "true"),
            ("blob", base64.b64encode(b"hi").decode()),
        ],
    )
    assert response.status_code == 200, response.text
    echoed = response.json()["request"]
    assert echoed["message"] == "hello there"
    assert echoed["tags"] == ["a", "b"]
    assert echoed["bigNumber"] == "9007199254740993"  # int64 as a string
    assert echoed["kind"] == "KIND_FANCY"
    assert echoed["nested"]["numbers"] == [4, 5]
    assert echoed["flag"] is True
    assert base64.b64decode(echoed["blob"]) == b"hi"


async def test_query_by_proto_names(gateway):
    response = await gateway.get("/v1/echo/x?big_number=12&nested.name=n&kind=2")
    echoed = response.json()["request"]
    assert (echoed["bigNumber"], echoed["nested"]["name"], echoed["kind"]) == (
        "12",
        "n",
        "KIND_FANCY",
    )


async def test_responses_print_fields_without_presence(gateway):
    echoed = (await gateway.get("/v1/echo/x")).json()["request"]
    assert echoed["tags"] == [] and echoed["bigNumber"] == "0" and echoed["flag"] is False
    assert echoed["kind"] == "KIND_UNSPECIFIED"


async def test_nested_pattern_and_double_wildcard(gateway):
    response = await gateway.get("/v1/echo/shelves/s1/books/a/b%2Fc/d")
    assert response.status_code == 200, response.text
    nested = response.json()["request"]["nested"]
    assert nested["name"] == "shelves/s1"
    assert nested["path"] == "a/b%2Fc/d"


async def test_nested_pattern_requires_its_literal(gateway):
    response = await gateway.get("/v1/echo/racks/s1/books/a")
    assert response.status_code == 404


async def test_post_with_star_body(gateway):
    response = await gateway.post(
        "/v1/echo",
        json={
            "message": "m",
            "payload": {"text": "t", "time": "2024-05-06T07:08:09Z"},
            "bigNumber": 3,
        },
    )
    assert response.status_code == 200, response.text
    echoed = response.json()["request"]
    assert echoed["payload"]["time"] == "2024-05-06T07:08:09Z"
    assert echoed["bigNumber"] == "3"


async def test_star_body_takes_no_query_parameters(gateway):
    response = await gateway.post("/v1/echo?tags=a", json={"message": "m"})
    assert response.status_code == 400


async def test_put_with_field_body_and_path(gateway):
    response = await gateway.put(
        "/v1/echo/m1/payload?tags=q", json={"text": "t", "data": {"k": [1, "two", None]}}
    )
    assert response.status_code == 200, response.text
    echoed = response.json()["request"]
    assert echoed["message"] == "m1"
    assert echoed["tags"] == ["q"]
    assert echoed["payload"] == {"text": "t", "data": {"k": [1, "two", None]}}
    assert "updateMask" not in echoed or echoed["updateMask"] == ""


async def test_patch_derives_update_mask(gateway):
    response = await gateway.patch("/v1/echo/m2", json={"text": "t", "data": {"a": 1}})
    assert response.status_code == 200, response.text
    assert response.json()["request"]["updateMask"] == "text,data"


async def test_patch_keeps_an_explicit_update_mask(gateway):
    response = await gateway.patch("/v1/echo/m2?updateMask=text", json={"text": "t", "data": {}})
    assert response.json()["request"]["updateMask"] == "text"


async def test_path_wins_over_body_for_star(gateway):
    response = await gateway.post("/v1/echo", json={"message": "body"})
    assert response.json()["request"]["message"] == "body"


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "field"),
    [
        ("POST", "/v1/echo", {"json": {"message": 5}}, "message"),
        ("POST", "/v1/echo", {"json": {"mesage": "typo"}}, "mesage"),
        ("POST", "/v1/echo", {"json": {"kind": "KIND_NOPE"}}, "kind"),
        ("PUT", "/v1/echo/x/payload", {"json": {"text": ["no"]}}, "payload.text"),
        ("GET", "/v1/echo/x?bigNumber=1.5", {}, "bigNumber"),
        ("GET", "/v1/echo/x?unknown=1", {}, "unknown"),
    ],
)
async def test_wrong_field_or_type_is_400_naming_the_field(gateway, method, url, kwargs, field):
    response = await gateway.request(method, url, **kwargs)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert field in error["message"]
    violations = [d for d in error["details"] if d["@type"].endswith("google.rpc.BadRequest")]
    assert violations and violations[0]["fieldViolations"][0]["field"].endswith(field)


async def test_malformed_json_is_400(gateway):
    response = await gateway.post(
        "/v1/echo", content=b'{"message": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["error"]["message"]
