"""The auth domain's records. Plain dataclasses: no framework types."""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime


class UserState(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    LOCKED = "locked"
    DELETED = "deleted"


class AuthMethod(enum.IntEnum):
    PASSWORD = 1
    DEVICE_AUTHORIZATION = 2
    EXTERNAL_IDENTITY = 3


class Role(enum.IntEnum):
    OWNER = 1
    ADMIN = 2
    MEMBER = 3


class TokenKind(enum.IntEnum):
    UNSPECIFIED = 0
    ACCESS_TOKEN = 1
    REFRESH_TOKEN = 2
    PERSONAL_ACCESS_TOKEN = 3


class InactiveReason(enum.IntEnum):
    NONE = 0
    UNKNOWN = 1
    EXPIRED = 2
    REVOKED = 3
    USER_INACTIVE = 4
    WRONG_KIND = 5


class AuditType(enum.IntEnum):
    USER_CREATED = 1
    EMAIL_VERIFIED = 2
    PROFILE_UPDATED = 3
    LOGIN_SUCCEEDED = 4
    LOGIN_FAILED = 5
    USER_LOCKED = 6
    LOGGED_OUT = 7
    SESSION_REVOKED = 8
    REFRESH_TOKEN_REUSED = 9
    PASSWORD_CHANGED = 10
    PASSWORD_RESET_REQUESTED = 11
    PASSWORD_RESET_COMPLETED = 12
    DEVICE_AUTHORIZATION_APPROVED = 13
    DEVICE_AUTHORIZATION_DENIED = 14
    IDENTITY_LINKED = 15
    PERSONAL_ACCESS_TOKEN_CREATED = 16
    PERSONAL_ACCESS_TOKEN_REVOKED = 17
    TOKEN_LEAKED = 18
    ORGANIZATION_CREATED = 19
    ORGANIZATION_MEMBER_ADDED = 20
    ORGANIZATION_ROLE_CHANGED = 21
    ORGANIZATION_MEMBER_REMOVED = 22
    USER_DISABLED = 23
    USER_ENABLED = 24


def etag_of(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:16]


@dataclass
class User:
    id: str
    email: str | None
    email_verified: bool
    display_name: str
    password_hash: str | None
    state: UserState
    lock_expire_time: datetime | None
    password_change_time: datetime | None
    create_time: datetime
    update_time: datetime
    delete_time: datetime | None
    version: int
    identity_providers: list[str] = field(default_factory=list)
    administrator: bool = False

    @classmethod
    def new(
        cls,
        *,
        email: str | None,
        email_verified: bool,
        display_name: str,
        password_hash: str | None,
        now: datetime,
    ) -> User:
        """A new active account; a password sets its change time (OIDC-only accounts have
        none)."""
        return cls(
            id=str(uuid.uuid4()),
            email=email,
            email_verified=email_verified,
            display_name=display_name,
            password_hash=password_hash,
            state=UserState.ACTIVE,
            lock_expire_time=None,
            password_change_time=now if password_hash is not None else None,
            create_time=now,
            update_time=now,
            delete_time=None,
            version=1,
        )

    @property
    def etag(self) -> str:
        return etag_of(self.id, self.version)

    def effective_state(self, now: datetime) -> UserState:
        if (
            self.state is UserState.LOCKED
            and self.lock_expire_time
            and self.lock_expire_time <= now
        ):
            return UserState.ACTIVE
        return self.state


@dataclass
class Session:
    id: str
    user_id: str
    device_name: str
    platform: str
    method: AuthMethod
    identity_provider: str
    client_address: str
    user_agent: str
    scopes: str
    create_time: datetime
    last_use_time: datetime
    idle_expire_time: datetime
    absolute_expire_time: datetime
    revoke_time: datetime | None
    revoke_reason: str | None

    def active(self, now: datetime) -> bool:
        return (
            self.revoke_time is None
            and self.idle_expire_time > now
            and self.absolute_expire_time > now
        )

    @property
    def expire_time(self) -> datetime:
        return min(self.idle_expire_time, self.absolute_expire_time)


@dataclass
class RefreshToken:
    token_hash: bytes
    session_id: str
    parent_hash: bytes | None
    create_time: datetime
    used_time: datetime | None


@dataclass
class PersonalAccessToken:
    id: str
    user_id: str
    display_name: str
    scopes: list[str]
    token_hint: str
    create_time: datetime
    expire_time: datetime
    last_use_time: datetime | None
    revoke_time: datetime | None
    token: str = ""  # the value, only right after creation


@dataclass
class DeviceAuthorization:
    id: str
    user_code: str
    device_name: str
    platform: str
    client_address: str
    scopes: str
    state: str  # pending | approved | denied | redeemed
    user_id: str | None
    session_id: str | None
    poll_interval: int
    last_poll_time: datetime | None
    create_time: datetime
    expire_time: datetime


@dataclass
class Organization:
    id: str
    uid: str
    display_name: str
    description: str
    create_time: datetime
    update_time: datetime
    version: int

    @property
    def etag(self) -> str:
        return etag_of(self.id, self.version)


@dataclass
class Member:
    organization_id: str
    user_id: str
    role: Role
    create_time: datetime
    update_time: datetime
    version: int
    email: str = ""
    display_name: str = ""

    @property
    def etag(self) -> str:
        return etag_of(self.organization_id, self.user_id, self.version)


@dataclass
class AuditEvent:
    id: str
    user_id: str
    type: AuditType
    actor: str
    resource: str
    session: str
    client_address: str
    user_agent: str
    attributes: dict[str, str]
    create_time: datetime


@dataclass
class SigningKey:
    kid: str
    private_key: str  # raw private key, base64url (decrypted)
    public_key: str  # raw public key, base64url (the JWK `x`)
    create_time: datetime
    activate_time: datetime
    retire_time: datetime | None
    delete_time: datetime | None


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass
class Introspection:
    active: bool
    kind: TokenKind = TokenKind.UNSPECIFIED
    inactive_reason: InactiveReason = InactiveReason.NONE
    user_id: str = ""
    scopes: list[str] = field(default_factory=list)
    session_id: str = ""
    token_id: str = ""
    audiences: list[str] = field(default_factory=list)
    issue_time: datetime | None = None
    expire_time: datetime | None = None
    cache_ttl_seconds: float = 0.0


@dataclass(frozen=True)
class Caller:
    """Who calls and from where, as the servicer saw it."""

    kind: str = "anonymous"  # anonymous | user | pat | service
    user_id: str = ""
    session_id: str = ""
    client_address: str = ""
    user_agent: str = ""

    @property
    def key(self) -> str:
        return f"user:{self.user_id}" if self.user_id else "anonymous"


@dataclass
class Page:
    items: list
    next_page_token: str = ""
