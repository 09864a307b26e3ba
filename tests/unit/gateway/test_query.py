import pytest

from symphony.testing.v1 import echo_service_pb2
from symphony_gateway.errors import GatewayError
from symphony_gateway.transcoding.query import QueryParser, setter_for_path

REQUEST = echo_service_pb2.EchoRequest
EXPAND = echo_service_pb2.ExpandRequest


def parsed(query: str, excluded=(), descriptor=REQUEST.DESCRIPTOR, cls=REQUEST):
    message = cls()
    QueryParser(descriptor, excluded).apply(message, query.encode())
    return message


def test_proto_and_json_names_are_both_accepted():
    assert parsed("big_number=5").big_number == 5
    assert parsed("bigNumber=9007199254740993").big_number == 9007199254740993
    assert parsed("fail_with=3").fail_with == parsed("failWith=3").fail_with == 3


def test_repeated_by_repeated_key_and_nested_names():
    message = parsed("tags=a&tags=b&nested.numbers=1&nested.numbers=2&nested.name=n")
    assert list(message.tags) == ["a", "b"]
    assert list(message.nested.numbers) == [1, 2]
    assert message.nested.name == "n"


def test_enums_by_name_or_number():
    assert parsed("kind=KIND_FANCY").kind == echo_service_pb2.KIND_FANCY
    assert parsed("kind=1").kind == echo_service_pb2.KIND_PLAIN


def test_bool_bytes_and_well_known_types():
    message = parsed("flag=true&blob=aGk&update_mask=payload.text,tags")
    assert message.flag is True
    assert message.blob == b"hi"
    assert list(message.update_mask.paths) == ["payload.text", "tags"]
    expand = parsed("interval=1.5s&count=2", descriptor=EXPAND.DESCRIPTOR, cls=EXPAND)
    assert expand.interval.ToMilliseconds() == 1500
    payload = parsed("payload.time=2024-01-02T03:04:05Z")
    assert payload.payload.time.seconds == 1704164645


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=KIND_NOPE", "kind"),
        ("big_number=abc", "big_number"),
        ("flag=maybe", "flag"),
        ("fail_with=99999999999", "fail_with"),
        ("payload.time=yesterday", "payload.time"),
        ("nope=1", "nope"),
        ("message=a&message=b", "message"),
    ],
)
def test_bad_values_name_the_field(query, field):
    with pytest.raises(GatewayError) as caught:
        parsed(query)
    assert caught.value.http_status == 400
    assert field in caught.value.message


def test_fields_bound_elsewhere_are_not_query_parameters():
    with pytest.raises(GatewayError):
        parsed("message=x", excluded={"message"})
    with pytest.raises(GatewayError):
        parsed("payload.text=x", excluded={"payload"})
    assert parsed("nested.path=p", excluded={"nested.name"}).nested.path == "p"


def test_no_query_parameters_when_body_is_star():
    parser = QueryParser(REQUEST.DESCRIPTOR, (), allowed=False)
    with pytest.raises(GatewayError):
        parser.apply(REQUEST(), b"tags=a")


def test_percent_decoding_in_values():
    assert parsed("message=a%20b%2Fc+d").message == "a b/c d"


def test_path_setter_converts_types():
    setter = setter_for_path(REQUEST.DESCRIPTOR, "nested.name")
    message = REQUEST()
    setter.set(message, "shelves/1")
    assert message.nested.name == "shelves/1"
    big = setter_for_path(REQUEST.DESCRIPTOR, "big_number")
    with pytest.raises(GatewayError):
        big.set(message, "x")
    with pytest.raises(ValueError):
        setter_for_path(REQUEST.DESCRIPTOR, "tags")
