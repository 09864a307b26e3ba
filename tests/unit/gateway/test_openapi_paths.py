from symphony_gateway.openapi import openapi_path
from symphony_gateway.transcoding.path_template import parse


def names(template: str):
    path, params = openapi_path(parse(template))
    return path, [name for name, _ in params]


def test_resource_patterns_are_written_out_with_one_parameter_per_segment():
    assert names("/v1/{name=organizations/*}") == (
        "/v1/organizations/{organizations_id}",
        ["organizations_id"],
    )
    assert names("/v1/{member.name=organizations/*/members/*}:undelete") == (
        "/v1/organizations/{organizations_id}/members/{members_id}:undelete",
        ["organizations_id", "members_id"],
    )


def test_plain_variables_and_double_wildcards_keep_the_field_name():
    assert names("/v1/echo/{message}") == ("/v1/echo/{message}", ["message"])
    assert names("/v1/echo/{nested.name=shelves/*}/books/{nested.path=**}") == (
        "/v1/echo/shelves/{shelves_id}/books/{nested.path}",
        ["shelves_id", "nested.path"],
    )


def test_repeated_collection_names_get_suffixes():
    assert names("/v1/{parent=shelves/*}/books/{book=shelves/*}")[1] == [
        "shelves_id",
        "shelves_id_2",
    ]
