"""Resource names of the registry, parsed strictly (`namespaces/{ns}/extensions/{ext}/...`)."""

from __future__ import annotations

from symphony_common.errors import invalid_field
from symphony_registry.domain.names import is_valid_name
from symphony_registry.domain.semver import SemVer

ALIASES = ("latest", "pre-release")


def _parts(
    name: str, field: str, shape: tuple[str, ...], reason: str = "NAME_INVALID"
) -> list[str]:
    parts = name.split("/") if name and len(name) <= 2048 else []
    if len(parts) != 2 * len(shape) or any(parts[2 * i] != s for i, s in enumerate(shape)):
        pattern = "/".join(f"{s}/{{{s[:-1]}}}" for s in shape)
        raise invalid_field(field, f"must be '{pattern}'", reason)
    return parts[1::2]


def namespace_name(name: str, field: str = "name", reason: str = "NAME_INVALID") -> str:
    (ns,) = _parts(name, field, ("namespaces",), reason)
    if not is_valid_name(ns):
        raise invalid_field(field, "is not a valid namespace name", reason)
    return ns


def extension_name(name: str, field: str = "name", reason: str = "NAME_INVALID") -> tuple[str, str]:
    ns, ext = _parts(name, field, ("namespaces", "extensions"), reason)
    if not (is_valid_name(ns) and is_valid_name(ext)):
        raise invalid_field(field, "is not a valid extension name", reason)
    return ns, ext


def version_name(
    name: str, field: str = "name", *, allow_alias: bool = True
) -> tuple[str, str, str]:
    ns, ext, version = _parts(name, field, ("namespaces", "extensions", "versions"))
    if not (is_valid_name(ns) and is_valid_name(ext)):
        raise invalid_field(field, "is not a valid version name", "NAME_INVALID")
    if version in ALIASES:
        if not allow_alias:
            raise invalid_field(
                field, "an alias is not allowed here; name the exact version", "VERSION_INVALID"
            )
    elif SemVer.parse(version) is None:
        raise invalid_field(field, "the version must be SemVer 2.0", "VERSION_INVALID")
    return ns, ext, version


def member_name(name: str, field: str = "name") -> tuple[str, str]:
    ns, member = _parts(name, field, ("namespaces", "members"))
    if not is_valid_name(ns) or not member or len(member) > 128:
        raise invalid_field(field, "is not a valid member name", "NAME_INVALID")
    return ns, member


def user_name(name: str, field: str = "user", reason: str = "USER_INVALID") -> str:
    if not name.startswith("users/") or not (0 < len(name) - 6 <= 128) or "/" in name[6:]:
        raise invalid_field(field, "must be 'users/{user}'", reason)
    return name[6:]


def owner_name(name: str, field: str = "namespace.owner") -> str:
    if name.startswith("users/") and 0 < len(name) - 6 <= 128 and "/" not in name[6:]:
        return name
    if name.startswith("organizations/") and 0 < len(name) - 14 <= 128 and "/" not in name[14:]:
        return name
    raise invalid_field(
        field, "must be 'users/{user}' or 'organizations/{organization}'", "OWNER_INVALID"
    )


def review_name(name: str, field: str = "name") -> tuple[str, str, str]:
    ns, ext, review = _parts(name, field, ("namespaces", "extensions", "reviews"))
    if not (is_valid_name(ns) and is_valid_name(ext)) or not review or len(review) > 64:
        raise invalid_field(field, "is not a valid review name", "NAME_INVALID")
    return ns, ext, review


def single(name: str, collection: str, field: str = "name") -> str:
    prefix = collection + "/"
    rest = name[len(prefix) :] if name.startswith(prefix) else ""
    if not rest or "/" in rest or len(rest) > 128:
        raise invalid_field(field, f"must be '{collection}/{{id}}'", "NAME_INVALID")
    return rest


def parse_extension_id(ext_id: str, field: str = "extension_id") -> tuple[str, str]:
    ns, dot, ext = ext_id.partition(".")
    if not dot or not is_valid_name(ns) or not is_valid_name(ext):
        raise invalid_field(field, "must be '{namespace}.{extension}'", "EXTENSION_ID_INVALID")
    return ns, ext
