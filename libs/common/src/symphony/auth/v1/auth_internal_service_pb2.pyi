import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from symphony.auth.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InactiveReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INACTIVE_REASON_UNSPECIFIED: _ClassVar[InactiveReason]
    INACTIVE_REASON_UNKNOWN: _ClassVar[InactiveReason]
    INACTIVE_REASON_EXPIRED: _ClassVar[InactiveReason]
    INACTIVE_REASON_REVOKED: _ClassVar[InactiveReason]
    INACTIVE_REASON_USER_INACTIVE: _ClassVar[InactiveReason]
    INACTIVE_REASON_WRONG_KIND: _ClassVar[InactiveReason]
INACTIVE_REASON_UNSPECIFIED: InactiveReason
INACTIVE_REASON_UNKNOWN: InactiveReason
INACTIVE_REASON_EXPIRED: InactiveReason
INACTIVE_REASON_REVOKED: InactiveReason
INACTIVE_REASON_USER_INACTIVE: InactiveReason
INACTIVE_REASON_WRONG_KIND: InactiveReason

class IntrospectTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class IntrospectTokenResponse(_message.Message):
    __slots__ = ("active", "inactive_reason", "kind", "user", "scopes", "session", "personal_access_token", "audiences", "issue_time", "expire_time", "cache_ttl")
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    INACTIVE_REASON_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AUDIENCES_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CACHE_TTL_FIELD_NUMBER: _ClassVar[int]
    active: bool
    inactive_reason: InactiveReason
    kind: _resources_pb2.TokenKind
    user: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    session: str
    personal_access_token: str
    audiences: _containers.RepeatedScalarFieldContainer[str]
    issue_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    cache_ttl: _duration_pb2.Duration
    def __init__(self, active: _Optional[bool] = ..., inactive_reason: _Optional[_Union[InactiveReason, str]] = ..., kind: _Optional[_Union[_resources_pb2.TokenKind, str]] = ..., user: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., session: _Optional[str] = ..., personal_access_token: _Optional[str] = ..., audiences: _Optional[_Iterable[str]] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cache_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class BatchGetUsersRequest(_message.Message):
    __slots__ = ("names", "allow_missing")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    allow_missing: bool
    def __init__(self, names: _Optional[_Iterable[str]] = ..., allow_missing: _Optional[bool] = ...) -> None: ...

class BatchGetUsersResponse(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[_resources_pb2.User]
    def __init__(self, users: _Optional[_Iterable[_Union[_resources_pb2.User, _Mapping]]] = ...) -> None: ...

class BatchGetOrganizationsRequest(_message.Message):
    __slots__ = ("names", "allow_missing")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    allow_missing: bool
    def __init__(self, names: _Optional[_Iterable[str]] = ..., allow_missing: _Optional[bool] = ...) -> None: ...

class BatchGetOrganizationsResponse(_message.Message):
    __slots__ = ("organizations",)
    ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    organizations: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Organization]
    def __init__(self, organizations: _Optional[_Iterable[_Union[_resources_pb2.Organization, _Mapping]]] = ...) -> None: ...

class ListUserOrganizationsRequest(_message.Message):
    __slots__ = ("user", "page_size", "page_token")
    USER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user: str
    page_size: int
    page_token: str
    def __init__(self, user: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class OrganizationMembership(_message.Message):
    __slots__ = ("organization", "role")
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    organization: _resources_pb2.Organization
    role: _resources_pb2.OrganizationRole
    def __init__(self, organization: _Optional[_Union[_resources_pb2.Organization, _Mapping]] = ..., role: _Optional[_Union[_resources_pb2.OrganizationRole, str]] = ...) -> None: ...

class ListUserOrganizationsResponse(_message.Message):
    __slots__ = ("memberships", "next_page_token")
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    memberships: _containers.RepeatedCompositeFieldContainer[OrganizationMembership]
    next_page_token: str
    def __init__(self, memberships: _Optional[_Iterable[_Union[OrganizationMembership, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetOrganizationMembershipRequest(_message.Message):
    __slots__ = ("organization", "user")
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    organization: str
    user: str
    def __init__(self, organization: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class RevokeLeakedTokenRequest(_message.Message):
    __slots__ = ("token", "location", "reporter")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    REPORTER_FIELD_NUMBER: _ClassVar[int]
    token: str
    location: str
    reporter: str
    def __init__(self, token: _Optional[str] = ..., location: _Optional[str] = ..., reporter: _Optional[str] = ...) -> None: ...

class RevokeLeakedTokenResponse(_message.Message):
    __slots__ = ("outcome", "kind")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[RevokeLeakedTokenResponse.Outcome]
        OUTCOME_REVOKED: _ClassVar[RevokeLeakedTokenResponse.Outcome]
        OUTCOME_ALREADY_INACTIVE: _ClassVar[RevokeLeakedTokenResponse.Outcome]
        OUTCOME_NOT_FOUND: _ClassVar[RevokeLeakedTokenResponse.Outcome]
    OUTCOME_UNSPECIFIED: RevokeLeakedTokenResponse.Outcome
    OUTCOME_REVOKED: RevokeLeakedTokenResponse.Outcome
    OUTCOME_ALREADY_INACTIVE: RevokeLeakedTokenResponse.Outcome
    OUTCOME_NOT_FOUND: RevokeLeakedTokenResponse.Outcome
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    outcome: RevokeLeakedTokenResponse.Outcome
    kind: _resources_pb2.TokenKind
    def __init__(self, outcome: _Optional[_Union[RevokeLeakedTokenResponse.Outcome, str]] = ..., kind: _Optional[_Union[_resources_pb2.TokenKind, str]] = ...) -> None: ...
