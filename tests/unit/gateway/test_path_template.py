import pytest

from symphony_gateway.transcoding.path_template import TemplateError, decode, parse


def test_literal_template_matches_only_itself():
    template = parse("/v1/echo")
    assert template.match("/v1/echo") == {}
    assert template.match("/v1/echo/") is None
    assert template.match("/v1/echoes") is None


def test_single_segment_variable_is_fully_decoded():
    template = parse("/v1/echo/{message}")
    assert template.match("/v1/echo/hello%20world%2Fx") == {"message": "hello world/x"}
    assert template.match("/v1/echo/a/b") is None


def test_nested_field_with_pattern_and_double_wildcard():
    template = parse("/v1/echo/{nested.name=shelves/*}/books/{nested.path=**}")
    assert template.match("/v1/echo/shelves/s1/books/a/b/c") == {
        "nested.name": "shelves/s1",
        "nested.path": "a/b/c",
    }
    assert template.match("/v1/echo/racks/s1/books/a") is None


def test_multi_segment_capture_keeps_encoded_slash():
    template = parse("/v1/{path=**}")
    assert template.match("/v1/a/b%2Fc%20d") == {"path": "a/b%2Fc d"}


def test_verb_is_separate_from_last_segment():
    template = parse("/v1/{name=projects/*}:cancel")
    assert template.verb == "cancel"
    assert template.match("/v1/projects/p1:cancel") == {"name": "projects/p1"}
    assert template.match("/v1/projects/p1") is None
    assert parse("/v1/echo:expand").match("/v1/echo:expand") == {}


def test_literal_prefix_and_specificity():
    plain = parse("/v1/echo/{message}")
    deep = parse("/v1/echo/{nested.name=shelves/*}/books/{nested.path=**}")
    assert plain.literal_prefix == ("v1", "echo")
    assert parse("/v1/{name=things/*}").literal_prefix == ("v1",)
    verb = parse("/v1/{name=projects/*}:cancel")
    bare = parse("/v1/{name=projects/*}")
    assert verb.specificity < bare.specificity
    assert deep.specificity < plain.specificity  # more literal segments wins


@pytest.mark.parametrize(
    "bad",
    ["v1/echo", "/v1//echo", "/v1/{a=**}/b", "/v1/{a", "/v1/{a.}", "/v1/{a}/{a}", "/v1/{a={b}}"],
)
def test_invalid_templates_are_rejected(bad):
    with pytest.raises(TemplateError):
        parse(bad)


def test_decode_rejects_invalid_utf8():
    with pytest.raises(UnicodeDecodeError):
        decode("%ff", False)
