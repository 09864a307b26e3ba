from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from symphony.registry.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccessSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_SOURCE_UNSPECIFIED: _ClassVar[AccessSource]
    ACCESS_SOURCE_MEMBER: _ClassVar[AccessSource]
    ACCESS_SOURCE_ORGANIZATION: _ClassVar[AccessSource]
ACCESS_SOURCE_UNSPECIFIED: AccessSource
ACCESS_SOURCE_MEMBER: AccessSource
ACCESS_SOURCE_ORGANIZATION: AccessSource

class DeleteUserDataRequest(_message.Message):
    __slots__ = ("user", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: str
    request_id: str
    def __init__(self, user: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteUserDataResponse(_message.Message):
    __slots__ = ("reviews_deleted", "memberships_removed", "frozen_namespaces")
    REVIEWS_DELETED_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIPS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    FROZEN_NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    reviews_deleted: int
    memberships_removed: int
    frozen_namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reviews_deleted: _Optional[int] = ..., memberships_removed: _Optional[int] = ..., frozen_namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class GetNamespaceAccessRequest(_message.Message):
    __slots__ = ("namespace", "user")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    user: str
    def __init__(self, namespace: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class GetNamespaceAccessResponse(_message.Message):
    __slots__ = ("namespace", "user", "role", "source", "owner")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    user: str
    role: _resources_pb2.NamespaceRole
    source: AccessSource
    owner: str
    def __init__(self, namespace: _Optional[str] = ..., user: _Optional[str] = ..., role: _Optional[_Union[_resources_pb2.NamespaceRole, str]] = ..., source: _Optional[_Union[AccessSource, str]] = ..., owner: _Optional[str] = ...) -> None: ...

class ListUserNamespacesRequest(_message.Message):
    __slots__ = ("user", "page_size", "page_token")
    USER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user: str
    page_size: int
    page_token: str
    def __init__(self, user: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUserNamespacesResponse(_message.Message):
    __slots__ = ("namespaces", "next_page_token")
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespaces: _containers.RepeatedCompositeFieldContainer[NamespaceAccess]
    next_page_token: str
    def __init__(self, namespaces: _Optional[_Iterable[_Union[NamespaceAccess, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class NamespaceAccess(_message.Message):
    __slots__ = ("namespace", "role", "source")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    role: _resources_pb2.NamespaceRole
    source: AccessSource
    def __init__(self, namespace: _Optional[str] = ..., role: _Optional[_Union[_resources_pb2.NamespaceRole, str]] = ..., source: _Optional[_Union[AccessSource, str]] = ...) -> None: ...
