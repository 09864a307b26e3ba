from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from symphony.registry.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SortBy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SORT_BY_UNSPECIFIED: _ClassVar[SortBy]
    SORT_BY_RELEVANCE: _ClassVar[SortBy]
    SORT_BY_DOWNLOADS: _ClassVar[SortBy]
    SORT_BY_RATING: _ClassVar[SortBy]
    SORT_BY_UPDATED: _ClassVar[SortBy]
SORT_BY_UNSPECIFIED: SortBy
SORT_BY_RELEVANCE: SortBy
SORT_BY_DOWNLOADS: SortBy
SORT_BY_RATING: SortBy
SORT_BY_UPDATED: SortBy

class CreateNamespaceRequest(_message.Message):
    __slots__ = ("namespace_id", "namespace", "request_id")
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace_id: str
    namespace: _resources_pb2.Namespace
    request_id: str
    def __init__(self, namespace_id: _Optional[str] = ..., namespace: _Optional[_Union[_resources_pb2.Namespace, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetNamespaceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListNamespacesRequest(_message.Message):
    __slots__ = ("member", "owner", "verified_only", "page_size", "page_token")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    member: str
    owner: str
    verified_only: bool
    page_size: int
    page_token: str
    def __init__(self, member: _Optional[str] = ..., owner: _Optional[str] = ..., verified_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNamespacesResponse(_message.Message):
    __slots__ = ("namespaces", "next_page_token")
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespaces: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Namespace]
    next_page_token: str
    def __init__(self, namespaces: _Optional[_Iterable[_Union[_resources_pb2.Namespace, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateNamespaceRequest(_message.Message):
    __slots__ = ("namespace", "update_mask")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    namespace: _resources_pb2.Namespace
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, namespace: _Optional[_Union[_resources_pb2.Namespace, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class SetNamespaceVerifiedRequest(_message.Message):
    __slots__ = ("name", "verified")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    name: str
    verified: bool
    def __init__(self, name: _Optional[str] = ..., verified: _Optional[bool] = ...) -> None: ...

class AddNamespaceMemberRequest(_message.Message):
    __slots__ = ("parent", "user", "role", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    user: str
    role: _resources_pb2.NamespaceRole
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., user: _Optional[str] = ..., role: _Optional[_Union[_resources_pb2.NamespaceRole, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListNamespaceMembersRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNamespaceMembersResponse(_message.Message):
    __slots__ = ("members", "next_page_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_resources_pb2.NamespaceMember]
    next_page_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[_resources_pb2.NamespaceMember, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateNamespaceMemberRequest(_message.Message):
    __slots__ = ("namespace_member", "update_mask")
    NAMESPACE_MEMBER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    namespace_member: _resources_pb2.NamespaceMember
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, namespace_member: _Optional[_Union[_resources_pb2.NamespaceMember, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class RemoveNamespaceMemberRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetExtensionRequest(_message.Message):
    __slots__ = ("name", "target_platform")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_platform: str
    def __init__(self, name: _Optional[str] = ..., target_platform: _Optional[str] = ...) -> None: ...

class ListExtensionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExtensionsResponse(_message.Message):
    __slots__ = ("extensions", "next_page_token")
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    extensions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Extension]
    next_page_token: str
    def __init__(self, extensions: _Optional[_Iterable[_Union[_resources_pb2.Extension, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListVersionsRequest(_message.Message):
    __slots__ = ("parent", "target_platform", "include_inactive", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    target_platform: str
    include_inactive: bool
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., target_platform: _Optional[str] = ..., include_inactive: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Version]
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[_resources_pb2.Version, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetVersionRequest(_message.Message):
    __slots__ = ("name", "target_platform")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_platform: str
    def __init__(self, name: _Optional[str] = ..., target_platform: _Optional[str] = ...) -> None: ...

class GetVersionFileRequest(_message.Message):
    __slots__ = ("name", "target_platform", "path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_platform: str
    path: str
    def __init__(self, name: _Optional[str] = ..., target_platform: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class UploadPackageRequest(_message.Message):
    __slots__ = ("metadata", "chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: UploadMetadata
    chunk: bytes
    def __init__(self, metadata: _Optional[_Union[UploadMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadMetadata(_message.Message):
    __slots__ = ("namespace", "target_platform", "pre_release", "size_bytes", "sha256", "file_name", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PRE_RELEASE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    target_platform: str
    pre_release: bool
    size_bytes: int
    sha256: str
    file_name: str
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., target_platform: _Optional[str] = ..., pre_release: _Optional[bool] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., file_name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class UploadPackageResponse(_message.Message):
    __slots__ = ("version", "scan")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SCAN_FIELD_NUMBER: _ClassVar[int]
    version: _resources_pb2.Version
    scan: _resources_pb2.Scan
    def __init__(self, version: _Optional[_Union[_resources_pb2.Version, _Mapping]] = ..., scan: _Optional[_Union[_resources_pb2.Scan, _Mapping]] = ...) -> None: ...

class GetScanRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListScansRequest(_message.Message):
    __slots__ = ("namespace", "extension", "state", "page_size", "page_token")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    extension: str
    state: _resources_pb2.ScanState
    page_size: int
    page_token: str
    def __init__(self, namespace: _Optional[str] = ..., extension: _Optional[str] = ..., state: _Optional[_Union[_resources_pb2.ScanState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListScansResponse(_message.Message):
    __slots__ = ("scans", "next_page_token")
    SCANS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scans: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Scan]
    next_page_token: str
    def __init__(self, scans: _Optional[_Iterable[_Union[_resources_pb2.Scan, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AllowQuarantinedVersionRequest(_message.Message):
    __slots__ = ("scan", "reason", "etag")
    SCAN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    scan: str
    reason: str
    etag: str
    def __init__(self, scan: _Optional[str] = ..., reason: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class BlockQuarantinedVersionRequest(_message.Message):
    __slots__ = ("scan", "reason", "etag")
    SCAN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    scan: str
    reason: str
    etag: str
    def __init__(self, scan: _Optional[str] = ..., reason: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class ListBlocklistEntriesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBlocklistEntriesResponse(_message.Message):
    __slots__ = ("blocklist_entries", "next_page_token")
    BLOCKLIST_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    blocklist_entries: _containers.RepeatedCompositeFieldContainer[_resources_pb2.BlocklistEntry]
    next_page_token: str
    def __init__(self, blocklist_entries: _Optional[_Iterable[_Union[_resources_pb2.BlocklistEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateBlocklistEntryRequest(_message.Message):
    __slots__ = ("blocklist_entry", "request_id")
    BLOCKLIST_ENTRY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    blocklist_entry: _resources_pb2.BlocklistEntry
    request_id: str
    def __init__(self, blocklist_entry: _Optional[_Union[_resources_pb2.BlocklistEntry, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteBlocklistEntryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DownloadPackageRequest(_message.Message):
    __slots__ = ("name", "target_platform", "offset", "length")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_platform: str
    offset: int
    length: int
    def __init__(self, name: _Optional[str] = ..., target_platform: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class DownloadPackageResponse(_message.Message):
    __slots__ = ("metadata", "chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: DownloadMetadata
    chunk: bytes
    def __init__(self, metadata: _Optional[_Union[DownloadMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class DownloadMetadata(_message.Message):
    __slots__ = ("version", "target_platform", "size_bytes", "sha256", "signature", "offset", "length", "etag", "file_name")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    version: str
    target_platform: str
    size_bytes: int
    sha256: str
    signature: _resources_pb2.PackageSignature
    offset: int
    length: int
    etag: str
    file_name: str
    def __init__(self, version: _Optional[str] = ..., target_platform: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., signature: _Optional[_Union[_resources_pb2.PackageSignature, _Mapping]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., etag: _Optional[str] = ..., file_name: _Optional[str] = ...) -> None: ...

class ListSigningKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSigningKeysResponse(_message.Message):
    __slots__ = ("signing_keys",)
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    signing_keys: _containers.RepeatedCompositeFieldContainer[_resources_pb2.SigningKey]
    def __init__(self, signing_keys: _Optional[_Iterable[_Union[_resources_pb2.SigningKey, _Mapping]]] = ...) -> None: ...

class GetSigningKeyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class SearchExtensionsRequest(_message.Message):
    __slots__ = ("query", "category", "tag", "target_platform", "include_pre_release", "sort_by", "page_size", "page_token", "explain")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PRE_RELEASE_FIELD_NUMBER: _ClassVar[int]
    SORT_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    query: str
    category: str
    tag: str
    target_platform: str
    include_pre_release: bool
    sort_by: SortBy
    page_size: int
    page_token: str
    explain: bool
    def __init__(self, query: _Optional[str] = ..., category: _Optional[str] = ..., tag: _Optional[str] = ..., target_platform: _Optional[str] = ..., include_pre_release: _Optional[bool] = ..., sort_by: _Optional[_Union[SortBy, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., explain: _Optional[bool] = ...) -> None: ...

class SearchExtensionsResponse(_message.Message):
    __slots__ = ("results", "next_page_token", "total_size")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SearchResult]
    next_page_token: str
    total_size: int
    def __init__(self, results: _Optional[_Iterable[_Union[SearchResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class SearchResult(_message.Message):
    __slots__ = ("extension", "explanation")
    EXTENSION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    extension: _resources_pb2.Extension
    explanation: ScoreExplanation
    def __init__(self, extension: _Optional[_Union[_resources_pb2.Extension, _Mapping]] = ..., explanation: _Optional[_Union[ScoreExplanation, _Mapping]] = ...) -> None: ...

class ScoreExplanation(_message.Message):
    __slots__ = ("score", "text_score", "exact_id", "name", "tags", "namespace", "description", "fuzzy", "relevance", "rating", "downloads", "recency", "verified_factor", "deprecated_factor")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TEXT_SCORE_FIELD_NUMBER: _ClassVar[int]
    EXACT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FUZZY_FIELD_NUMBER: _ClassVar[int]
    RELEVANCE_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADS_FIELD_NUMBER: _ClassVar[int]
    RECENCY_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FACTOR_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_FACTOR_FIELD_NUMBER: _ClassVar[int]
    score: float
    text_score: float
    exact_id: float
    name: float
    tags: float
    namespace: float
    description: float
    fuzzy: float
    relevance: float
    rating: float
    downloads: float
    recency: float
    verified_factor: float
    deprecated_factor: float
    def __init__(self, score: _Optional[float] = ..., text_score: _Optional[float] = ..., exact_id: _Optional[float] = ..., name: _Optional[float] = ..., tags: _Optional[float] = ..., namespace: _Optional[float] = ..., description: _Optional[float] = ..., fuzzy: _Optional[float] = ..., relevance: _Optional[float] = ..., rating: _Optional[float] = ..., downloads: _Optional[float] = ..., recency: _Optional[float] = ..., verified_factor: _Optional[float] = ..., deprecated_factor: _Optional[float] = ...) -> None: ...

class CheckUpdatesRequest(_message.Message):
    __slots__ = ("extensions", "editor_version", "vscode_compatibility_version", "target_platform", "include_pre_release")
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    EDITOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    VSCODE_COMPATIBILITY_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PRE_RELEASE_FIELD_NUMBER: _ClassVar[int]
    extensions: _containers.RepeatedCompositeFieldContainer[InstalledExtension]
    editor_version: str
    vscode_compatibility_version: str
    target_platform: str
    include_pre_release: bool
    def __init__(self, extensions: _Optional[_Iterable[_Union[InstalledExtension, _Mapping]]] = ..., editor_version: _Optional[str] = ..., vscode_compatibility_version: _Optional[str] = ..., target_platform: _Optional[str] = ..., include_pre_release: _Optional[bool] = ...) -> None: ...

class InstalledExtension(_message.Message):
    __slots__ = ("extension_id", "version")
    EXTENSION_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    extension_id: str
    version: str
    def __init__(self, extension_id: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class CheckUpdatesResponse(_message.Message):
    __slots__ = ("updates",)
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[ExtensionUpdate]
    def __init__(self, updates: _Optional[_Iterable[_Union[ExtensionUpdate, _Mapping]]] = ...) -> None: ...

class ExtensionUpdate(_message.Message):
    __slots__ = ("extension_id", "installed_version", "found", "latest_compatible_version", "update_available", "installed_version_withdrawn", "deprecation")
    EXTENSION_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_VERSION_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    LATEST_COMPATIBLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_VERSION_WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    DEPRECATION_FIELD_NUMBER: _ClassVar[int]
    extension_id: str
    installed_version: str
    found: bool
    latest_compatible_version: _resources_pb2.Version
    update_available: bool
    installed_version_withdrawn: bool
    deprecation: _resources_pb2.Deprecation
    def __init__(self, extension_id: _Optional[str] = ..., installed_version: _Optional[str] = ..., found: _Optional[bool] = ..., latest_compatible_version: _Optional[_Union[_resources_pb2.Version, _Mapping]] = ..., update_available: _Optional[bool] = ..., installed_version_withdrawn: _Optional[bool] = ..., deprecation: _Optional[_Union[_resources_pb2.Deprecation, _Mapping]] = ...) -> None: ...

class ListReviewsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "author")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    author: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., author: _Optional[str] = ...) -> None: ...

class ListReviewsResponse(_message.Message):
    __slots__ = ("reviews", "next_page_token", "summary")
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    reviews: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Review]
    next_page_token: str
    summary: _resources_pb2.ReviewSummary
    def __init__(self, reviews: _Optional[_Iterable[_Union[_resources_pb2.Review, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., summary: _Optional[_Union[_resources_pb2.ReviewSummary, _Mapping]] = ...) -> None: ...

class CreateReviewRequest(_message.Message):
    __slots__ = ("parent", "review", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    review: _resources_pb2.Review
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., review: _Optional[_Union[_resources_pb2.Review, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateReviewRequest(_message.Message):
    __slots__ = ("review", "update_mask")
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    review: _resources_pb2.Review
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, review: _Optional[_Union[_resources_pb2.Review, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteReviewRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class YankVersionRequest(_message.Message):
    __slots__ = ("name", "target_platform", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_platform: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., target_platform: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnyankVersionRequest(_message.Message):
    __slots__ = ("name", "target_platform")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_platform: str
    def __init__(self, name: _Optional[str] = ..., target_platform: _Optional[str] = ...) -> None: ...

class UnpublishVersionRequest(_message.Message):
    __slots__ = ("name", "target_platform", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_platform: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., target_platform: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeprecateExtensionRequest(_message.Message):
    __slots__ = ("name", "replacement", "message")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    replacement: str
    message: str
    def __init__(self, name: _Optional[str] = ..., replacement: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class UndeprecateExtensionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...
