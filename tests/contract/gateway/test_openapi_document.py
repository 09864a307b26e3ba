"""/openapi.json: valid OpenAPI 3.1, one operation per binding."""

from openapi_spec_validator import validate

from symphony.testing.v1 import echo_service_pb2
from symphony_gateway.transcoding.http_rule import bindings_of


async def test_openapi_is_valid_and_has_one_operation_per_binding(gateway):
    response = await gateway.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")

    service = echo_service_pb2.DESCRIPTOR.services_by_name["EchoService"]
    expected = {
        (binding.http_method.lower(), binding.template)
        for method in service.methods
        for binding in bindings_of(method)
    }
    operations = [
        (method, op) for item in document["paths"].values() for method, op in item.items()
    ]
    assert len(operations) == len(expected) == 6
    ids = [op["operationId"] for _, op in operations]
    assert len(set(ids)) == len(ids)
    assert "/v1/echo/shelves/{shelves_id}/books/{nested.path}" in document["paths"]
    assert "/v1/echo:expand" in document["paths"]


async def test_operations_describe_parameters_bodies_and_errors(gateway):
    document = (await gateway.get("/openapi.json")).json()
    get = document["paths"]["/v1/echo/{message}"]["get"]
    names = {(p["name"], p["in"]) for p in get["parameters"]}
    assert ("message", "path") in names
    assert ("bigNumber", "query") in names and ("nested.numbers", "query") in names
    assert ("message", "query") not in names
    tags = next(p for p in get["parameters"] if p["name"] == "tags")
    assert tags["schema"]["type"] == "array"
    assert get["responses"]["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    patch = document["paths"]["/v1/echo/{message}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "anyOf": [{"$ref": "#/components/schemas/symphony.testing.v1.Payload"}, {"type": "null"}]
    }
    schemas = document["components"]["schemas"]
    request = schemas["symphony.testing.v1.EchoRequest"]["properties"]
    assert request["bigNumber"] == {
        "type": ["string", "integer", "null"],
        "format": "int64",
        "pattern": r"^-?[0-9]+$",
    }
    names, numbers = schemas["symphony.testing.v1.Kind"]["anyOf"]
    assert names["enum"][0] == "KIND_UNSPECIFIED" and numbers["type"] == "integer"
    post = document["paths"]["/v1/echo"]["post"]
    assert post["parameters"] == []
    expand = document["paths"]["/v1/echo:expand"]["get"]
    assert "text/event-stream" in expand["responses"]["200"]["content"]


async def test_every_discovered_binding_is_routed_and_documented(client_for):
    from symphony_gateway.app import create_app
    from symphony_gateway.backends import DEFAULT_ADDRESSES, Backends
    from symphony_gateway.config import GatewaySettings
    from symphony_gateway.discovery import discover_services

    services = discover_services()
    expected = sum(len(bindings_of(m)) for s in services for m in s.methods)
    backends = Backends({**DEFAULT_ADDRESSES, "testing": "127.0.0.1:1"})  # never called
    app = create_app(GatewaySettings(), backends, services=services)
    assert len(app.state.router.routes) == expected
    async with client_for(app) as client:
        document = (await client.get("/openapi.json")).json()
    validate(document)
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) == expected
    assert len({op["operationId"] for op in operations}) == expected
    await backends.close()
