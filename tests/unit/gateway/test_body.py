import pytest

from symphony.testing.v1 import echo_service_pb2
from symphony_gateway.errors import GatewayError
from symphony_gateway.transcoding.body import BodyMapper, to_json

REQUEST = echo_service_pb2.EchoRequest
DESCRIPTOR = REQUEST.DESCRIPTOR


def apply(mapper: BodyMapper, raw: bytes):
    message = REQUEST()
    obj = mapper.apply(message, raw)
    mapper.derive_update_mask(message, obj)
    return message


def test_star_body_fills_the_request():
    message = apply(BodyMapper(DESCRIPTOR, "*", "POST"), b'{"message": "m", "bigNumber": "7"}')
    assert (message.message, message.big_number) == ("m", 7)


def test_field_body_fills_only_that_field():
    message = apply(BodyMapper(DESCRIPTOR, "payload", "PUT"), b'{"text": "t", "data": {"a": [1]}}')
    assert message.payload.text == "t"
    assert message.payload.data["a"][0] == 1
    assert not message.update_mask.paths  # PUT never derives a mask


def test_patch_derives_update_mask_from_body_keys():
    mapper = BodyMapper(DESCRIPTOR, "payload", "PATCH")
    message = apply(mapper, b'{"text": "t", "time": "2024-01-01T00:00:00Z", "data": {"x": 1}}')
    assert sorted(message.update_mask.paths) == ["data", "text", "time"]


def test_patch_keeps_a_given_mask():
    mapper = BodyMapper(DESCRIPTOR, "payload", "PATCH")
    message = REQUEST()
    obj = mapper.apply(message, b'{"text": "t"}')
    message.update_mask.paths.append("data")
    mapper.derive_update_mask(message, obj)
    assert list(message.update_mask.paths) == ["data"]


def test_patch_star_body_recurses_into_messages_and_skips_update_mask():
    mapper = BodyMapper(DESCRIPTOR, "*", "PATCH")
    message = apply(mapper, b'{"nested": {"name": "n", "numbers": [1]}, "flag": true}')
    assert sorted(message.update_mask.paths) == ["flag", "nested.name", "nested.numbers"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"text": 5}', "payload.text"),
        (b'{"nope": 1}', "payload.nope"),
        (b'{"time": "not a time"}', "payload.time"),
    ],
)
def test_wrong_field_or_type_is_400_naming_the_field(raw, field):
    with pytest.raises(GatewayError) as caught:
        apply(BodyMapper(DESCRIPTOR, "payload", "PUT"), raw)
    assert caught.value.http_status == 400
    assert field in caught.value.message
    assert "int()" not in caught.value.message  # no Python exception text


def test_wrong_enum_and_number_in_star_body():
    for raw, field in [
        (b'{"kind": "BAD"}', "kind"),
        (b'{"kind": true}', "kind"),  # json_format alone takes it as 1
        (b'{"bigNumber": "x"}', "bigNumber"),
    ]:
        with pytest.raises(GatewayError) as caught:
            apply(BodyMapper(DESCRIPTOR, "*", "POST"), raw)
        assert field in caught.value.message


# Whitespace alone is no JSON value (IN-3 sent b"\x0b" and b" \t\n\r").
@pytest.mark.parametrize(
    "raw", [b"{", b'{"a": }', b"\xff\xfe", b"[1, 2]", b"\x0b", b" \x0c ", b" \t\r\n"]
)
def test_malformed_json_is_400(raw):
    with pytest.raises(GatewayError) as caught:
        apply(BodyMapper(DESCRIPTOR, "*", "POST"), raw)
    assert caught.value.http_status == 400


def test_empty_body_leaves_the_message_empty():
    assert apply(BodyMapper(DESCRIPTOR, "*", "POST"), b"") == REQUEST()


def test_output_uses_json_names_and_prints_every_field():
    body = to_json(echo_service_pb2.EchoResponse(request=REQUEST(big_number=2**40)))
    assert b'"bigNumber":"1099511627776"' in body
    assert b'"failWith":0' in body and b'"tags":[]' in body
