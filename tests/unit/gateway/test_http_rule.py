from symphony.testing.v1 import echo_service_pb2
from symphony_gateway.transcoding.http_rule import bindings_of

SERVICE = echo_service_pb2.DESCRIPTOR.services_by_name["EchoService"]


def test_main_rule_then_additional_bindings():
    bindings = bindings_of(SERVICE.methods_by_name["Echo"])
    assert [(b.http_method, b.template, b.body, b.index) for b in bindings] == [
        ("GET", "/v1/echo/{message}", "", 0),
        ("POST", "/v1/echo", "*", 1),
        ("GET", "/v1/echo/{nested.name=shelves/*}/books/{nested.path=**}", "", 2),
        ("PUT", "/v1/echo/{message}/payload", "payload", 3),
        ("PATCH", "/v1/echo/{message}", "payload", 4),
    ]


def test_streaming_method_binding():
    [binding] = bindings_of(SERVICE.methods_by_name["Expand"])
    assert (binding.http_method, binding.template) == ("GET", "/v1/echo:expand")
