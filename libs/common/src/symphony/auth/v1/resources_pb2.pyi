import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USER_STATE_UNSPECIFIED: _ClassVar[UserState]
    USER_STATE_ACTIVE: _ClassVar[UserState]
    USER_STATE_DISABLED: _ClassVar[UserState]
    USER_STATE_LOCKED: _ClassVar[UserState]
    USER_STATE_DELETED: _ClassVar[UserState]

class AuthenticationMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTHENTICATION_METHOD_UNSPECIFIED: _ClassVar[AuthenticationMethod]
    AUTHENTICATION_METHOD_PASSWORD: _ClassVar[AuthenticationMethod]
    AUTHENTICATION_METHOD_DEVICE_AUTHORIZATION: _ClassVar[AuthenticationMethod]
    AUTHENTICATION_METHOD_EXTERNAL_IDENTITY: _ClassVar[AuthenticationMethod]

class TokenKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOKEN_KIND_UNSPECIFIED: _ClassVar[TokenKind]
    TOKEN_KIND_ACCESS_TOKEN: _ClassVar[TokenKind]
    TOKEN_KIND_REFRESH_TOKEN: _ClassVar[TokenKind]
    TOKEN_KIND_PERSONAL_ACCESS_TOKEN: _ClassVar[TokenKind]

class PersonalAccessTokenState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERSONAL_ACCESS_TOKEN_STATE_UNSPECIFIED: _ClassVar[PersonalAccessTokenState]
    PERSONAL_ACCESS_TOKEN_STATE_ACTIVE: _ClassVar[PersonalAccessTokenState]
    PERSONAL_ACCESS_TOKEN_STATE_EXPIRED: _ClassVar[PersonalAccessTokenState]
    PERSONAL_ACCESS_TOKEN_STATE_REVOKED: _ClassVar[PersonalAccessTokenState]

class OrganizationRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORGANIZATION_ROLE_UNSPECIFIED: _ClassVar[OrganizationRole]
    ORGANIZATION_ROLE_OWNER: _ClassVar[OrganizationRole]
    ORGANIZATION_ROLE_ADMIN: _ClassVar[OrganizationRole]
    ORGANIZATION_ROLE_MEMBER: _ClassVar[OrganizationRole]

class AuditEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_EVENT_TYPE_UNSPECIFIED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_USER_CREATED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_EMAIL_VERIFIED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_PROFILE_UPDATED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_LOGIN_SUCCEEDED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_LOGIN_FAILED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_USER_LOCKED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_LOGGED_OUT: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_SESSION_REVOKED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_REFRESH_TOKEN_REUSED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_PASSWORD_CHANGED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_PASSWORD_RESET_REQUESTED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_PASSWORD_RESET_COMPLETED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_DEVICE_AUTHORIZATION_APPROVED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_DEVICE_AUTHORIZATION_DENIED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_IDENTITY_LINKED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_PERSONAL_ACCESS_TOKEN_CREATED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_PERSONAL_ACCESS_TOKEN_REVOKED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_TOKEN_LEAKED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_ORGANIZATION_CREATED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_ORGANIZATION_MEMBER_ADDED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_ORGANIZATION_ROLE_CHANGED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_ORGANIZATION_MEMBER_REMOVED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_USER_DISABLED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_USER_ENABLED: _ClassVar[AuditEventType]

class DeviceAuthorizationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_AUTHORIZATION_STATE_UNSPECIFIED: _ClassVar[DeviceAuthorizationState]
    DEVICE_AUTHORIZATION_STATE_PENDING: _ClassVar[DeviceAuthorizationState]
    DEVICE_AUTHORIZATION_STATE_APPROVED: _ClassVar[DeviceAuthorizationState]
    DEVICE_AUTHORIZATION_STATE_DENIED: _ClassVar[DeviceAuthorizationState]
    DEVICE_AUTHORIZATION_STATE_EXPIRED: _ClassVar[DeviceAuthorizationState]
    DEVICE_AUTHORIZATION_STATE_REDEEMED: _ClassVar[DeviceAuthorizationState]
USER_STATE_UNSPECIFIED: UserState
USER_STATE_ACTIVE: UserState
USER_STATE_DISABLED: UserState
USER_STATE_LOCKED: UserState
USER_STATE_DELETED: UserState
AUTHENTICATION_METHOD_UNSPECIFIED: AuthenticationMethod
AUTHENTICATION_METHOD_PASSWORD: AuthenticationMethod
AUTHENTICATION_METHOD_DEVICE_AUTHORIZATION: AuthenticationMethod
AUTHENTICATION_METHOD_EXTERNAL_IDENTITY: AuthenticationMethod
TOKEN_KIND_UNSPECIFIED: TokenKind
TOKEN_KIND_ACCESS_TOKEN: TokenKind
TOKEN_KIND_REFRESH_TOKEN: TokenKind
TOKEN_KIND_PERSONAL_ACCESS_TOKEN: TokenKind
PERSONAL_ACCESS_TOKEN_STATE_UNSPECIFIED: PersonalAccessTokenState
PERSONAL_ACCESS_TOKEN_STATE_ACTIVE: PersonalAccessTokenState
PERSONAL_ACCESS_TOKEN_STATE_EXPIRED: PersonalAccessTokenState
PERSONAL_ACCESS_TOKEN_STATE_REVOKED: PersonalAccessTokenState
ORGANIZATION_ROLE_UNSPECIFIED: OrganizationRole
ORGANIZATION_ROLE_OWNER: OrganizationRole
ORGANIZATION_ROLE_ADMIN: OrganizationRole
ORGANIZATION_ROLE_MEMBER: OrganizationRole
AUDIT_EVENT_TYPE_UNSPECIFIED: AuditEventType
AUDIT_EVENT_TYPE_USER_CREATED: AuditEventType
AUDIT_EVENT_TYPE_EMAIL_VERIFIED: AuditEventType
AUDIT_EVENT_TYPE_PROFILE_UPDATED: AuditEventType
AUDIT_EVENT_TYPE_LOGIN_SUCCEEDED: AuditEventType
AUDIT_EVENT_TYPE_LOGIN_FAILED: AuditEventType
AUDIT_EVENT_TYPE_USER_LOCKED: AuditEventType
AUDIT_EVENT_TYPE_LOGGED_OUT: AuditEventType
AUDIT_EVENT_TYPE_SESSION_REVOKED: AuditEventType
AUDIT_EVENT_TYPE_REFRESH_TOKEN_REUSED: AuditEventType
AUDIT_EVENT_TYPE_PASSWORD_CHANGED: AuditEventType
AUDIT_EVENT_TYPE_PASSWORD_RESET_REQUESTED: AuditEventType
AUDIT_EVENT_TYPE_PASSWORD_RESET_COMPLETED: AuditEventType
AUDIT_EVENT_TYPE_DEVICE_AUTHORIZATION_APPROVED: AuditEventType
AUDIT_EVENT_TYPE_DEVICE_AUTHORIZATION_DENIED: AuditEventType
AUDIT_EVENT_TYPE_IDENTITY_LINKED: AuditEventType
AUDIT_EVENT_TYPE_PERSONAL_ACCESS_TOKEN_CREATED: AuditEventType
AUDIT_EVENT_TYPE_PERSONAL_ACCESS_TOKEN_REVOKED: AuditEventType
AUDIT_EVENT_TYPE_TOKEN_LEAKED: AuditEventType
AUDIT_EVENT_TYPE_ORGANIZATION_CREATED: AuditEventType
AUDIT_EVENT_TYPE_ORGANIZATION_MEMBER_ADDED: AuditEventType
AUDIT_EVENT_TYPE_ORGANIZATION_ROLE_CHANGED: AuditEventType
AUDIT_EVENT_TYPE_ORGANIZATION_MEMBER_REMOVED: AuditEventType
AUDIT_EVENT_TYPE_USER_DISABLED: AuditEventType
AUDIT_EVENT_TYPE_USER_ENABLED: AuditEventType
DEVICE_AUTHORIZATION_STATE_UNSPECIFIED: DeviceAuthorizationState
DEVICE_AUTHORIZATION_STATE_PENDING: DeviceAuthorizationState
DEVICE_AUTHORIZATION_STATE_APPROVED: DeviceAuthorizationState
DEVICE_AUTHORIZATION_STATE_DENIED: DeviceAuthorizationState
DEVICE_AUTHORIZATION_STATE_EXPIRED: DeviceAuthorizationState
DEVICE_AUTHORIZATION_STATE_REDEEMED: DeviceAuthorizationState

class User(_message.Message):
    __slots__ = ("name", "uid", "email", "email_verified", "display_name", "state", "has_password", "identity_providers", "administrator", "lock_expire_time", "create_time", "update_time", "delete_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    EMAIL_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HAS_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    ADMINISTRATOR_FIELD_NUMBER: _ClassVar[int]
    LOCK_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    email: str
    email_verified: bool
    display_name: str
    state: UserState
    has_password: bool
    identity_providers: _containers.RepeatedScalarFieldContainer[str]
    administrator: bool
    lock_expire_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., email: _Optional[str] = ..., email_verified: _Optional[bool] = ..., display_name: _Optional[str] = ..., state: _Optional[_Union[UserState, str]] = ..., has_password: _Optional[bool] = ..., identity_providers: _Optional[_Iterable[str]] = ..., administrator: _Optional[bool] = ..., lock_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("name", "uid", "device_name", "platform", "authentication_method", "identity_provider", "client_address", "user_agent", "current", "create_time", "last_use_time", "expire_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    AUTHENTICATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_USE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    device_name: str
    platform: str
    authentication_method: AuthenticationMethod
    identity_provider: str
    client_address: str
    user_agent: str
    current: bool
    create_time: _timestamp_pb2.Timestamp
    last_use_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., device_name: _Optional[str] = ..., platform: _Optional[str] = ..., authentication_method: _Optional[_Union[AuthenticationMethod, str]] = ..., identity_provider: _Optional[str] = ..., client_address: _Optional[str] = ..., user_agent: _Optional[str] = ..., current: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_use_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TokenPair(_message.Message):
    __slots__ = ("access_token", "refresh_token", "expires_in", "token_type")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str
    def __init__(self, access_token: _Optional[str] = ..., refresh_token: _Optional[str] = ..., expires_in: _Optional[int] = ..., token_type: _Optional[str] = ...) -> None: ...

class PersonalAccessToken(_message.Message):
    __slots__ = ("name", "uid", "display_name", "scopes", "token", "token_hint", "expire_time", "ttl", "state", "last_use_time", "create_time", "revoke_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_HINT_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_USE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    token: str
    token_hint: str
    expire_time: _timestamp_pb2.Timestamp
    ttl: _duration_pb2.Duration
    state: PersonalAccessTokenState
    last_use_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., token: _Optional[str] = ..., token_hint: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., state: _Optional[_Union[PersonalAccessTokenState, str]] = ..., last_use_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Organization(_message.Message):
    __slots__ = ("name", "uid", "display_name", "description", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    description: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class OrganizationMember(_message.Message):
    __slots__ = ("name", "user", "email", "display_name", "role", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    user: str
    email: str
    display_name: str
    role: OrganizationRole
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., user: _Optional[str] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[_Union[OrganizationRole, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("name", "uid", "type", "actor", "resource", "session", "client_address", "user_agent", "attributes", "create_time")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    type: AuditEventType
    actor: str
    resource: str
    session: str
    client_address: str
    user_agent: str
    attributes: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., type: _Optional[_Union[AuditEventType, str]] = ..., actor: _Optional[str] = ..., resource: _Optional[str] = ..., session: _Optional[str] = ..., client_address: _Optional[str] = ..., user_agent: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeviceAuthorization(_message.Message):
    __slots__ = ("name", "uid", "user_code", "device_name", "platform", "client_address", "scopes", "state", "user", "create_time", "expire_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    USER_CODE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    user_code: str
    device_name: str
    platform: str
    client_address: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    state: DeviceAuthorizationState
    user: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., user_code: _Optional[str] = ..., device_name: _Optional[str] = ..., platform: _Optional[str] = ..., client_address: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[DeviceAuthorizationState, str]] = ..., user: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IdentityProvider(_message.Message):
    __slots__ = ("id", "display_name", "issuer")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    issuer: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., issuer: _Optional[str] = ...) -> None: ...

class JsonWebKey(_message.Message):
    __slots__ = ("kty", "crv", "x", "kid", "use", "alg")
    KTY_FIELD_NUMBER: _ClassVar[int]
    CRV_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    KID_FIELD_NUMBER: _ClassVar[int]
    USE_FIELD_NUMBER: _ClassVar[int]
    ALG_FIELD_NUMBER: _ClassVar[int]
    kty: str
    crv: str
    x: str
    kid: str
    use: str
    alg: str
    def __init__(self, kty: _Optional[str] = ..., crv: _Optional[str] = ..., x: _Optional[str] = ..., kid: _Optional[str] = ..., use: _Optional[str] = ..., alg: _Optional[str] = ...) -> None: ...

class JsonWebKeySet(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[JsonWebKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[JsonWebKey, _Mapping]]] = ...) -> None: ...
