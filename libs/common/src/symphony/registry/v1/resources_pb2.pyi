import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NamespaceRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NAMESPACE_ROLE_UNSPECIFIED: _ClassVar[NamespaceRole]
    NAMESPACE_ROLE_OWNER: _ClassVar[NamespaceRole]
    NAMESPACE_ROLE_CONTRIBUTOR: _ClassVar[NamespaceRole]

class SigningAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNING_ALGORITHM_UNSPECIFIED: _ClassVar[SigningAlgorithm]
    SIGNING_ALGORITHM_ED25519: _ClassVar[SigningAlgorithm]

class SigningKeyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNING_KEY_STATE_UNSPECIFIED: _ClassVar[SigningKeyState]
    SIGNING_KEY_STATE_ACTIVE: _ClassVar[SigningKeyState]
    SIGNING_KEY_STATE_RETIRED: _ClassVar[SigningKeyState]

class ScanState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCAN_STATE_UNSPECIFIED: _ClassVar[ScanState]
    SCAN_STATE_STARTED: _ClassVar[ScanState]
    SCAN_STATE_VALIDATING: _ClassVar[ScanState]
    SCAN_STATE_SCANNING: _ClassVar[ScanState]
    SCAN_STATE_PASSED: _ClassVar[ScanState]
    SCAN_STATE_QUARANTINED: _ClassVar[ScanState]
    SCAN_STATE_REJECTED: _ClassVar[ScanState]
    SCAN_STATE_ERRORED: _ClassVar[ScanState]

class ScanCheck(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCAN_CHECK_UNSPECIFIED: _ClassVar[ScanCheck]
    SCAN_CHECK_VALIDATION: _ClassVar[ScanCheck]
    SCAN_CHECK_SECRETS: _ClassVar[ScanCheck]
    SCAN_CHECK_BLOCKLIST: _ClassVar[ScanCheck]
    SCAN_CHECK_NAME_SIMILARITY: _ClassVar[ScanCheck]
    SCAN_CHECK_ARCHIVE_FEATURES: _ClassVar[ScanCheck]

class FindingSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINDING_SEVERITY_UNSPECIFIED: _ClassVar[FindingSeverity]
    FINDING_SEVERITY_INFO: _ClassVar[FindingSeverity]
    FINDING_SEVERITY_WARNING: _ClassVar[FindingSeverity]
    FINDING_SEVERITY_QUARANTINE: _ClassVar[FindingSeverity]
    FINDING_SEVERITY_REJECT: _ClassVar[FindingSeverity]

class CheckState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHECK_STATE_UNSPECIFIED: _ClassVar[CheckState]
    CHECK_STATE_PENDING: _ClassVar[CheckState]
    CHECK_STATE_RUNNING: _ClassVar[CheckState]
    CHECK_STATE_PASSED: _ClassVar[CheckState]
    CHECK_STATE_FAILED: _ClassVar[CheckState]
    CHECK_STATE_ERRORED: _ClassVar[CheckState]
NAMESPACE_ROLE_UNSPECIFIED: NamespaceRole
NAMESPACE_ROLE_OWNER: NamespaceRole
NAMESPACE_ROLE_CONTRIBUTOR: NamespaceRole
SIGNING_ALGORITHM_UNSPECIFIED: SigningAlgorithm
SIGNING_ALGORITHM_ED25519: SigningAlgorithm
SIGNING_KEY_STATE_UNSPECIFIED: SigningKeyState
SIGNING_KEY_STATE_ACTIVE: SigningKeyState
SIGNING_KEY_STATE_RETIRED: SigningKeyState
SCAN_STATE_UNSPECIFIED: ScanState
SCAN_STATE_STARTED: ScanState
SCAN_STATE_VALIDATING: ScanState
SCAN_STATE_SCANNING: ScanState
SCAN_STATE_PASSED: ScanState
SCAN_STATE_QUARANTINED: ScanState
SCAN_STATE_REJECTED: ScanState
SCAN_STATE_ERRORED: ScanState
SCAN_CHECK_UNSPECIFIED: ScanCheck
SCAN_CHECK_VALIDATION: ScanCheck
SCAN_CHECK_SECRETS: ScanCheck
SCAN_CHECK_BLOCKLIST: ScanCheck
SCAN_CHECK_NAME_SIMILARITY: ScanCheck
SCAN_CHECK_ARCHIVE_FEATURES: ScanCheck
FINDING_SEVERITY_UNSPECIFIED: FindingSeverity
FINDING_SEVERITY_INFO: FindingSeverity
FINDING_SEVERITY_WARNING: FindingSeverity
FINDING_SEVERITY_QUARANTINE: FindingSeverity
FINDING_SEVERITY_REJECT: FindingSeverity
CHECK_STATE_UNSPECIFIED: CheckState
CHECK_STATE_PENDING: CheckState
CHECK_STATE_RUNNING: CheckState
CHECK_STATE_PASSED: CheckState
CHECK_STATE_FAILED: CheckState
CHECK_STATE_ERRORED: CheckState

class Namespace(_message.Message):
    __slots__ = ("name", "uid", "display_name", "description", "website_url", "support_url", "owner", "verified", "verify_time", "extension_count", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    WEBSITE_URL_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_URL_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    VERIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    description: str
    website_url: str
    support_url: str
    owner: str
    verified: bool
    verify_time: _timestamp_pb2.Timestamp
    extension_count: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., website_url: _Optional[str] = ..., support_url: _Optional[str] = ..., owner: _Optional[str] = ..., verified: _Optional[bool] = ..., verify_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., extension_count: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class NamespaceMember(_message.Message):
    __slots__ = ("name", "uid", "user", "role", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    user: str
    role: NamespaceRole
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., user: _Optional[str] = ..., role: _Optional[_Union[NamespaceRole, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class Extension(_message.Message):
    __slots__ = ("name", "uid", "extension_id", "namespace", "verified", "display_name", "description", "categories", "tags", "latest_version", "pre_release_version", "target_platforms", "deprecation", "download_count", "review_summary", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRE_RELEASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    DEPRECATION_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    extension_id: str
    namespace: str
    verified: bool
    display_name: str
    description: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    latest_version: Version
    pre_release_version: Version
    target_platforms: _containers.RepeatedScalarFieldContainer[str]
    deprecation: Deprecation
    download_count: int
    review_summary: ReviewSummary
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., extension_id: _Optional[str] = ..., namespace: _Optional[str] = ..., verified: _Optional[bool] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., latest_version: _Optional[_Union[Version, _Mapping]] = ..., pre_release_version: _Optional[_Union[Version, _Mapping]] = ..., target_platforms: _Optional[_Iterable[str]] = ..., deprecation: _Optional[_Union[Deprecation, _Mapping]] = ..., download_count: _Optional[int] = ..., review_summary: _Optional[_Union[ReviewSummary, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class Deprecation(_message.Message):
    __slots__ = ("replacement", "replacement_id", "message", "deprecate_time")
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DEPRECATE_TIME_FIELD_NUMBER: _ClassVar[int]
    replacement: str
    replacement_id: str
    message: str
    deprecate_time: _timestamp_pb2.Timestamp
    def __init__(self, replacement: _Optional[str] = ..., replacement_id: _Optional[str] = ..., message: _Optional[str] = ..., deprecate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReviewSummary(_message.Message):
    __slots__ = ("review_count", "average_rating", "bayesian_rating", "rating_counts")
    REVIEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_RATING_FIELD_NUMBER: _ClassVar[int]
    BAYESIAN_RATING_FIELD_NUMBER: _ClassVar[int]
    RATING_COUNTS_FIELD_NUMBER: _ClassVar[int]
    review_count: int
    average_rating: float
    bayesian_rating: float
    rating_counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, review_count: _Optional[int] = ..., average_rating: _Optional[float] = ..., bayesian_rating: _Optional[float] = ..., rating_counts: _Optional[_Iterable[int]] = ...) -> None: ...

class Version(_message.Message):
    __slots__ = ("name", "uid", "version", "target_platform", "available_target_platforms", "pre_release", "display_name", "description", "categories", "tags", "license", "homepage_url", "repository_url", "bugs_url", "engines", "dependencies", "bundled_extensions", "files", "package_size_bytes", "package_sha256", "signature", "scan", "scan_state", "publisher", "yanked", "yank_reason", "yank_time", "unpublish_deadline", "download_count", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_TARGET_PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    PRE_RELEASE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    HOMEPAGE_URL_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_URL_FIELD_NUMBER: _ClassVar[int]
    BUGS_URL_FIELD_NUMBER: _ClassVar[int]
    ENGINES_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    BUNDLED_EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SCAN_FIELD_NUMBER: _ClassVar[int]
    SCAN_STATE_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_FIELD_NUMBER: _ClassVar[int]
    YANKED_FIELD_NUMBER: _ClassVar[int]
    YANK_REASON_FIELD_NUMBER: _ClassVar[int]
    YANK_TIME_FIELD_NUMBER: _ClassVar[int]
    UNPUBLISH_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    version: str
    target_platform: str
    available_target_platforms: _containers.RepeatedScalarFieldContainer[str]
    pre_release: bool
    display_name: str
    description: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    license: str
    homepage_url: str
    repository_url: str
    bugs_url: str
    engines: _containers.RepeatedCompositeFieldContainer[EngineRequirement]
    dependencies: _containers.RepeatedScalarFieldContainer[str]
    bundled_extensions: _containers.RepeatedScalarFieldContainer[str]
    files: _containers.RepeatedScalarFieldContainer[str]
    package_size_bytes: int
    package_sha256: str
    signature: PackageSignature
    scan: str
    scan_state: ScanState
    publisher: str
    yanked: bool
    yank_reason: str
    yank_time: _timestamp_pb2.Timestamp
    unpublish_deadline: _timestamp_pb2.Timestamp
    download_count: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., version: _Optional[str] = ..., target_platform: _Optional[str] = ..., available_target_platforms: _Optional[_Iterable[str]] = ..., pre_release: _Optional[bool] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., license: _Optional[str] = ..., homepage_url: _Optional[str] = ..., repository_url: _Optional[str] = ..., bugs_url: _Optional[str] = ..., engines: _Optional[_Iterable[_Union[EngineRequirement, _Mapping]]] = ..., dependencies: _Optional[_Iterable[str]] = ..., bundled_extensions: _Optional[_Iterable[str]] = ..., files: _Optional[_Iterable[str]] = ..., package_size_bytes: _Optional[int] = ..., package_sha256: _Optional[str] = ..., signature: _Optional[_Union[PackageSignature, _Mapping]] = ..., scan: _Optional[str] = ..., scan_state: _Optional[_Union[ScanState, str]] = ..., publisher: _Optional[str] = ..., yanked: _Optional[bool] = ..., yank_reason: _Optional[str] = ..., yank_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unpublish_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., download_count: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class EngineRequirement(_message.Message):
    __slots__ = ("engine", "range")
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    engine: str
    range: str
    def __init__(self, engine: _Optional[str] = ..., range: _Optional[str] = ...) -> None: ...

class PackageSignature(_message.Message):
    __slots__ = ("key", "algorithm", "signature", "manifest")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    key: str
    algorithm: SigningAlgorithm
    signature: bytes
    manifest: bytes
    def __init__(self, key: _Optional[str] = ..., algorithm: _Optional[_Union[SigningAlgorithm, str]] = ..., signature: _Optional[bytes] = ..., manifest: _Optional[bytes] = ...) -> None: ...

class SigningKey(_message.Message):
    __slots__ = ("name", "uid", "algorithm", "public_key", "public_key_pem", "state", "create_time", "retire_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RETIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    algorithm: SigningAlgorithm
    public_key: bytes
    public_key_pem: str
    state: SigningKeyState
    create_time: _timestamp_pb2.Timestamp
    retire_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., algorithm: _Optional[_Union[SigningAlgorithm, str]] = ..., public_key: _Optional[bytes] = ..., public_key_pem: _Optional[str] = ..., state: _Optional[_Union[SigningKeyState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Scan(_message.Message):
    __slots__ = ("name", "uid", "version", "target_platform", "publisher", "package_sha256", "state", "checks", "findings", "decision", "create_time", "update_time", "complete_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    version: str
    target_platform: str
    publisher: str
    package_sha256: str
    state: ScanState
    checks: _containers.RepeatedCompositeFieldContainer[CheckRun]
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    decision: AdminDecision
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    complete_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., version: _Optional[str] = ..., target_platform: _Optional[str] = ..., publisher: _Optional[str] = ..., package_sha256: _Optional[str] = ..., state: _Optional[_Union[ScanState, str]] = ..., checks: _Optional[_Iterable[_Union[CheckRun, _Mapping]]] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., decision: _Optional[_Union[AdminDecision, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class CheckRun(_message.Message):
    __slots__ = ("check", "state", "start_time", "end_time")
    CHECK_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    check: ScanCheck
    state: CheckState
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, check: _Optional[_Union[ScanCheck, str]] = ..., state: _Optional[_Union[CheckState, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("check", "severity", "reason", "file", "line", "message", "remedy", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHECK_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REMEDY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    check: ScanCheck
    severity: FindingSeverity
    reason: str
    file: str
    line: int
    message: str
    remedy: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, check: _Optional[_Union[ScanCheck, str]] = ..., severity: _Optional[_Union[FindingSeverity, str]] = ..., reason: _Optional[str] = ..., file: _Optional[str] = ..., line: _Optional[int] = ..., message: _Optional[str] = ..., remedy: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AdminDecision(_message.Message):
    __slots__ = ("allowed", "administrator", "reason", "decide_time")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    ADMINISTRATOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    administrator: str
    reason: str
    decide_time: _timestamp_pb2.Timestamp
    def __init__(self, allowed: _Optional[bool] = ..., administrator: _Optional[str] = ..., reason: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BlocklistEntry(_message.Message):
    __slots__ = ("name", "uid", "sha256", "reason", "creator", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    sha256: str
    reason: str
    creator: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., sha256: _Optional[str] = ..., reason: _Optional[str] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ("name", "uid", "author", "author_display_name", "rating", "title", "text", "version", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    author: str
    author_display_name: str
    rating: int
    title: str
    text: str
    version: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., author: _Optional[str] = ..., author_display_name: _Optional[str] = ..., rating: _Optional[int] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., version: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class VersionFile(_message.Message):
    __slots__ = ("name", "target_platform", "path", "content_type", "size_bytes", "sha256", "text", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_platform: str
    path: str
    content_type: str
    size_bytes: int
    sha256: str
    text: str
    data: bytes
    def __init__(self, name: _Optional[str] = ..., target_platform: _Optional[str] = ..., path: _Optional[str] = ..., content_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., text: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...
