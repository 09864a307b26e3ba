"""The registry's records, as the domain sees them (plain dataclasses; no framework)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any


class Role(enum.IntEnum):
    NONE = 0
    OWNER = 1
    CONTRIBUTOR = 2


class ScanState(enum.IntEnum):
    STARTED = 1
    VALIDATING = 2
    SCANNING = 3
    PASSED = 4
    QUARANTINED = 5
    REJECTED = 6
    ERRORED = 7

    @property
    def final(self) -> bool:
        return self >= ScanState.PASSED


class Check(enum.IntEnum):
    VALIDATION = 1
    SECRETS = 2
    BLOCKLIST = 3
    NAME_SIMILARITY = 4
    ARCHIVE_FEATURES = 5


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    QUARANTINE = 3
    REJECT = 4


class CheckState(enum.IntEnum):
    PENDING = 1
    RUNNING = 2
    PASSED = 3
    FAILED = 4
    ERRORED = 5


class SortBy(enum.IntEnum):
    RELEVANCE = 1
    DOWNLOADS = 2
    RATING = 3
    UPDATED = 4


@dataclass
class Namespace:
    id: str
    name: str
    display_name: str = ""
    description: str = ""
    website_url: str = ""
    support_url: str = ""
    owner: str = ""  # users/{id} | organizations/{id}
    verified: bool = False
    verify_time: dt.datetime | None = None
    frozen: bool = False
    extension_count: int = 0
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    revision: int = 1


@dataclass
class Member:
    id: str
    namespace: str
    user_id: str
    role: Role
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    revision: int = 1


@dataclass
class FileRef:
    path: str
    content_type: str
    size: int
    sha256: str


@dataclass
class Signature:
    key_id: str
    signature: bytes
    manifest: bytes


@dataclass
class Version:
    id: str
    extension_id: str  # the extension row's uuid
    namespace: str
    extension: str
    version: str
    target_platform: str
    pre_release: bool = False
    display_name: str = ""
    description: str = ""
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    license: str = ""
    homepage_url: str = ""
    repository_url: str = ""
    bugs_url: str = ""
    engines: list[tuple[str, str]] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    bundled_extensions: list[str] = field(default_factory=list)
    files: dict[str, FileRef] = field(default_factory=dict)
    package_size: int = 0
    package_sha256: str = ""
    signature: Signature | None = None
    scan_id: str = ""
    scan_state: ScanState = ScanState.STARTED
    publisher_id: str = ""
    yanked: bool = False
    yank_reason: str = ""
    yank_time: dt.datetime | None = None
    unpublished: bool = False
    download_count: int = 0
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    available_target_platforms: list[str] = field(default_factory=list)

    @property
    def ext_id(self) -> str:
        return f"{self.namespace}.{self.extension}"

    @property
    def etag(self) -> str:
        return f'"{self.package_sha256[:32]}"' if self.package_sha256 else ""


@dataclass
class Deprecation:
    replacement: str = ""  # namespaces/{ns}/extensions/{ext}
    replacement_id: str = ""
    message: str = ""
    deprecate_time: dt.datetime | None = None


@dataclass
class ReviewSummary:
    review_count: int = 0
    average_rating: float = 0.0
    bayesian_rating: float = 0.0
    rating_counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])


@dataclass
class Extension:
    id: str
    namespace: str
    name: str
    verified: bool = False
    display_name: str = ""
    description: str = ""
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    latest_version: Version | None = None
    pre_release_version: Version | None = None
    target_platforms: list[str] = field(default_factory=list)
    deprecation: Deprecation | None = None
    download_count: int = 0
    review_summary: ReviewSummary = field(default_factory=ReviewSummary)
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    revision: int = 1

    @property
    def ext_id(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass
class Finding:
    check: Check
    severity: Severity
    reason: str
    file: str = ""
    line: int = 0
    message: str = ""
    remedy: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class CheckRun:
    check: Check
    state: CheckState
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None


@dataclass
class Decision:
    allowed: bool
    administrator: str
    reason: str
    decide_time: dt.datetime | None = None


@dataclass
class Scan:
    id: str
    version_id: str
    namespace: str
    extension: str
    version: str
    target_platform: str
    publisher_id: str
    package_sha256: str
    state: ScanState
    checks: list[CheckRun] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    decision: Decision | None = None
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    complete_time: dt.datetime | None = None
    revision: int = 1


@dataclass
class BlocklistEntry:
    id: str
    sha256: str
    reason: str
    creator: str
    create_time: dt.datetime | None = None


@dataclass
class Review:
    id: str
    extension_uuid: str
    namespace: str
    extension: str
    author_id: str
    author_display_name: str
    rating: int
    title: str
    text: str
    version: str
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    revision: int = 1


@dataclass
class SigningKey:
    id: str
    public_key: bytes
    active: bool
    create_time: dt.datetime | None = None
    retire_time: dt.datetime | None = None
    private_key: bytes = b""


@dataclass
class ScoreParts:
    score: float = 0.0
    text_score: float = 0.0
    exact_id: float = 0.0
    name: float = 0.0
    tags: float = 0.0
    namespace: float = 0.0
    description: float = 0.0
    fuzzy: float = 0.0
    relevance: float = 0.0
    rating: float = 0.0
    downloads: float = 0.0
    recency: float = 0.0
    verified_factor: float = 1.0
    deprecated_factor: float = 1.0


@dataclass
class SearchQuery:
    text: str = ""
    category: str = ""
    tag: str = ""
    target_platform: str = ""
    include_pre_release: bool = False
    sort_by: SortBy = SortBy.RELEVANCE
    offset: int = 0
    limit: int = 50
    global_mean: float = 3.5


@dataclass
class SearchHit:
    extension: Extension
    parts: ScoreParts


@dataclass
class Page:
    items: list[Any]
    next_token: str = ""
    total: int = 0


# ---------------------------------------------------------------- JSON codec for the cache


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


@functools.cache
def _field_types(tp: type) -> tuple[tuple[str, Any], ...]:
    """(name, type) of a dataclass's fields; resolving the string annotations costs more than
    decoding a whole cached extension, so it is done once per class."""
    hints = typing.get_type_hints(tp)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(tp))


def from_jsonable(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return from_jsonable(inner[0], value)
    if origin is list:
        (arg,) = typing.get_args(tp)
        return [from_jsonable(arg, v) for v in value]
    if origin is tuple:
        args = typing.get_args(tp)
        return tuple(from_jsonable(a, v) for a, v in zip(args, value, strict=False))
    if origin is dict:
        _, arg = typing.get_args(tp)
        return {k: from_jsonable(arg, v) for k, v in value.items()}
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return tp(
                **{
                    name: from_jsonable(hint, value[name])
                    for name, hint in _field_types(tp)
                    if name in value
                }
            )
        if issubclass(tp, enum.Enum):
            return tp(value)
        if tp is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if tp is bytes:
            return bytes.fromhex(value)
    return value
