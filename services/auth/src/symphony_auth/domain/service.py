"""Auth use cases. Imports no framework: storage through the unit of work port, everything
else through the ports in `ports.py`.

Every path that issues or accepts a token calls `_require_active` on the user (AU-9); the
registry of those paths is `ISSUING_PATHS` below, which a test enumerates.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt

from symphony_auth.domain import secrets
from symphony_auth.domain.keys import KeyStore
from symphony_auth.domain.models import (
    AuditEvent,
    AuditType,
    AuthMethod,
    Caller,
    DeviceAuthorization,
    InactiveReason,
    Introspection,
    Member,
    Organization,
    Page,
    PersonalAccessToken,
    Role,
    Session,
    TokenKind,
    TokenPair,
    User,
    UserState,
)
from symphony_auth.domain.passwords import MAX_LENGTH, Argon2Hasher, check_policy
from symphony_auth.domain.ports import (
    AuthUnitOfWork,
    IdentityProviders,
    RateLimiter,
    UnitOfWorkFactory,
)
from symphony_auth.domain.session_cache import SessionCache
from symphony_common.errors import (
    Aborted,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionViolation,
    QuotaViolation,
    ResourceExhausted,
    ResourceRef,
    Unauthenticated,
    Unavailable,
    invalid_field,
    not_found,
)
from symphony_common.pagination import PageTokenCodec, page_size
from symphony_common.tokens import MAX_TOKEN_BYTES, audience_of

SERVICES = ("auth", "registry", "sync", "analytics")
SESSION_SCOPES = ("registry.publish", "sync.read", "sync.write", "analytics.read")
PAT_SCOPES = frozenset(SESSION_SCOPES)
NAMESPACE_SCOPE = re.compile(r"^registry\.publish:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL = re.compile(
    r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
ORG_ID = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,38}$")
RECENT_LOGIN = timedelta(minutes=15)
PAT_DEFAULT_TTL = timedelta(days=90)
PAT_MAX_TTL = timedelta(days=366)
PAT_LIMIT = 100
ORG_LIMIT = 100
USER_CODE_ATTEMPTS = 5
IDEMPOTENCY_WINDOW = timedelta(hours=24)
PAT_REPLAY_WINDOW = timedelta(minutes=10)
PAT_CACHE_TTL = 5.0

# AU-9: every path that issues a token or accepts one. Each entry names the use case; the
# matrix test drives each path for every inactive user state and expects no token.
ISSUING_PATHS = (
    "login",
    "refresh",
    "exchange_device_code",
    "complete_external_login",
    "create_personal_access_token",
    "introspect_personal_access_token",
    "introspect_access_token",
    "signed_in_call",
)


def invalid_grant(
    why: str = "the grant is invalid, expired, revoked or already used",
) -> Unauthenticated:
    return Unauthenticated("INVALID_GRANT", why)


def invalid_credentials() -> Unauthenticated:
    return Unauthenticated("INVALID_CREDENTIALS", "email or password is incorrect")


def too_many(reason: str, retry_after: float, subject: str) -> ResourceExhausted:
    return ResourceExhausted(
        reason,
        "too many attempts; retry later",
        retry_after_seconds=max(1.0, float(int(retry_after + 0.999))),
        quota_violations=[QuotaViolation(subject, "too many attempts")],
    )


def _page_error(error: InvalidArgument, reason: str, field_name: str) -> InvalidArgument:
    return invalid_field(
        field_name,
        error.field_violations[0].description if error.field_violations else "invalid",
        reason,
    )


@dataclass
class Policy:
    issuer: str = "https://symphony.dev"
    access_ttl: int = 900
    refresh_grace: float = 5.0
    session_idle: timedelta = timedelta(days=30)
    session_absolute: timedelta = timedelta(days=90)
    device_ttl: int = 600
    device_interval: int = 5
    external_ttl: int = 600
    admin_emails: frozenset[str] = frozenset()
    website_url: str = "http://127.0.0.1:8080"
    login_account_limit: int = 10
    login_address_limit: int = 50
    login_window: int = 900
    request_rate_limit: int = 30
    request_rate_window: int = 60
    providers: Mapping[str, Any] = field(default_factory=dict)  # id -> OidcProviderConfig-like
    page_token_secret: str = "symphony-auth-page-tokens"  # noqa: S105 - positions only, see NOTES
    idempotency_cipher: Any = None  # KeyCipher, to keep a PAT value for its replay window


@dataclass(frozen=True)
class ExternalStart:
    authorization_uri: str
    state: str
    expire_time: datetime


@dataclass(frozen=True)
class DeviceStart:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    interval: int
    expires_in: int


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuthService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        keys: KeyStore,
        hasher: Argon2Hasher,
        limiter: RateLimiter,
        providers: IdentityProviders | None = None,
        policy: Policy | None = None,
        clock: Callable[[], datetime] = utcnow,
        sessions: SessionCache | None = None,
    ) -> None:
        self._uow = uow
        # GetCurrentUser's pairs; the unit of work's commits keep it current (see bootstrap).
        self.sessions = sessions if sessions is not None else SessionCache(seconds=0, size=0)
        self.keys = keys
        self.hasher = hasher
        self.limiter = limiter
        self.providers = providers
        self.policy = policy or Policy()
        self.clock = clock
        self.pages = PageTokenCodec(self.policy.page_token_secret)
        self._background: set[asyncio.Future[None]] = set()

    # ==== helpers ==========================================================================

    async def _hash(self, password: str) -> str:
        return await self.hasher.hash_async(password)

    async def _verify(self, stored: str | None, password: str) -> bool:
        return await self.hasher.verify_async(stored, password)

    def _decorate(self, user: User) -> User:
        user.administrator = bool(
            user.email and user.email_verified and user.email.lower() in self.policy.admin_emails
        )
        return user

    def _require_active(self, user: User | None, now: datetime) -> User:
        """The one check every issuing and accepting path makes (AU-9)."""
        if user is None:
            raise Unauthenticated("SESSION_REVOKED", "the account no longer exists")
        state = user.effective_state(now)
        if state is UserState.DISABLED:
            raise PermissionDenied("USER_DISABLED", "the account is disabled")
        if state is UserState.LOCKED:
            retry = (user.lock_expire_time - now).total_seconds() if user.lock_expire_time else None
            raise PermissionDenied(
                "USER_LOCKED", "the account is locked", retry_after_seconds=retry
            )
        if state is UserState.DELETED:
            raise Unauthenticated("SESSION_REVOKED", "the account was deleted")
        return user

    async def _signed_in(self, uow: AuthUnitOfWork, caller: Caller) -> tuple[User, Session]:
        self._require_session_token(caller)
        session, user = await uow.repo.get_session_and_user(caller.session_id)
        return self._require_signed_in(caller, session, user)

    @staticmethod
    def _require_session_token(caller: Caller) -> None:
        if caller.kind == "pat":
            raise PermissionDenied(
                "SESSION_TOKEN_REQUIRED",
                "sign in; personal access tokens cannot manage the account",
            )
        if caller.kind != "user" or not caller.user_id:
            raise Unauthenticated(
                "TOKEN_MISSING", "sign in first: send 'Authorization: Bearer <access token>'"
            )

    def _require_signed_in(
        self, caller: Caller, session: Session | None, user: User | None
    ) -> tuple[User, Session]:
        """The caller's session is theirs and alive, and its user active."""
        now = self.clock()
        if session is None or session.user_id != caller.user_id or not session.active(now):
            raise Unauthenticated("SESSION_REVOKED", "the session has ended; sign in again")
        return self._decorate(self._require_active(user, now)), session

    async def _require_active_or_audit(
        self, uow: Any, user: Any, now: datetime, caller: Any
    ) -> None:
        """Refuse a disabled, locked or deleted user at sign-in, recording the refusal."""
        try:
            self._require_active(user, now)
        except DomainError as error:
            await self._audit(
                uow, user.id, AuditType.LOGIN_FAILED, caller, actor="", reason=error.reason.lower()
            )
            await uow.commit()
            raise

    async def _audit(
        self,
        uow: AuthUnitOfWork,
        user_id: str,
        kind: AuditType,
        caller: Caller,
        *,
        resource: str = "",
        session: str = "",
        actor: str | None = None,
        **attributes: str,
    ) -> None:
        await uow.repo.insert_audit(
            AuditEvent(
                id=str(uuid.uuid4()),
                user_id=user_id,
                type=kind,
                actor=actor
                if actor is not None
                else (f"users/{caller.user_id}" if caller.user_id else ""),
                resource=resource,
                session=session,
                client_address=caller.client_address[:100],
                user_agent=caller.user_agent[:300],
                attributes={k: str(v)[:500] for k, v in attributes.items()},
                create_time=self.clock(),
            )
        )

    def _mint(self, user_id: str, session_id: str, scopes: str, now: datetime) -> str:
        issued = int(now.timestamp())
        return self.keys.sign(
            {
                "iss": self.policy.issuer,
                "sub": user_id,
                "aud": [audience_of(s) for s in SERVICES],
                "iat": issued,
                "exp": issued + self.policy.access_ttl,
                "jti": uuid.uuid4().hex,
                "sid": session_id,
                "scope": scopes,
            }
        )

    async def _start_session(
        self,
        uow: AuthUnitOfWork,
        user: User,
        method: AuthMethod,
        caller: Caller,
        *,
        device_name: str = "",
        platform: str = "",
        scopes: str = "",
        provider: str = "",
    ) -> tuple[Session, TokenPair]:
        now = self.clock()
        session = Session(
            id=str(uuid.uuid4()),
            user_id=user.id,
            device_name=device_name,
            platform=platform,
            method=method,
            identity_provider=provider,
            client_address=caller.client_address[:100],
            user_agent=caller.user_agent[:300],
            scopes=scopes or " ".join(SESSION_SCOPES),
            create_time=now,
            last_use_time=now,
            idle_expire_time=min(
                now + self.policy.session_idle, now + self.policy.session_absolute
            ),
            absolute_expire_time=now + self.policy.session_absolute,
            revoke_time=None,
            revoke_reason=None,
        )
        await uow.repo.insert_session(session)
        refresh = secrets.new_refresh_token()
        await uow.repo.insert_refresh_token(secrets.digest(refresh), session.id, None, now)
        access = self._mint(user.id, session.id, session.scopes, now)
        return session, TokenPair(access, refresh, self.policy.access_ttl)

    async def _rate(self, key: str, limit: int, window: int, reason: str = "RATE_LIMITED") -> None:
        count, reset = await self.limiter.hit(key, window)
        if count > limit:
            raise too_many(reason, reset, key.split(":")[1] if ":" in key else key)

    def _page(
        self, token: str, query: Mapping[str, Any], size: int
    ) -> tuple[dict[str, Any] | None, int]:
        try:
            limit = page_size(size)
        except InvalidArgument as error:
            raise _page_error(error, "PAGE_SIZE_INVALID", "page_size") from None
        try:
            return self.pages.decode(token, query), limit
        except InvalidArgument as error:
            raise _page_error(error, "PAGE_TOKEN_INVALID", "page_token") from None

    def _email(self, raw: str, field_name: str = "email") -> str:
        email = raw.strip()
        if len(email) > 254 or not EMAIL.match(email):
            raise invalid_field(field_name, "is not a valid email address", "EMAIL_INVALID")
        local, _, domain = email.rpartition("@")
        return f"{local}@{domain.lower()}"

    @staticmethod
    def _display_name(raw: str, field_name: str = "display_name") -> str:
        name = raw.strip()
        if not 1 <= len(name) <= 100 or any(ord(ch) < 32 for ch in name):
            raise invalid_field(field_name, "must be 1 to 100 characters", "DISPLAY_NAME_INVALID")
        return name

    async def _email_token(
        self, uow: AuthUnitOfWork, user: User, purpose: str, ttl: timedelta
    ) -> str:
        now = self.clock()
        await uow.repo.supersede_email_tokens(user.id, purpose, now)
        token = secrets.random_token(32)
        await uow.repo.insert_email_token(secrets.digest(token), user.id, purpose, now, now + ttl)
        return token

    async def _send_verification(self, uow: AuthUnitOfWork, user: User) -> None:
        token = await self._email_token(uow, user, "verify", timedelta(days=2))
        link = f"{self.policy.website_url}/verify-email?token={token}"
        await uow.repo.enqueue_email(
            user.email or "",
            "Verify your Symphony email address",
            f"Hello {user.display_name},\n\nconfirm your address: {link}\n",
        )

    # ==== idempotency ======================================================================

    async def idempotent(
        self,
        caller: Caller,
        method: str,
        request_id: str,
        fingerprint: str,
        run: Callable[[], Awaitable[bytes]],
    ) -> bytes:
        """Runs `run` once per (caller, method, request_id) within 24 hours and replays its
        serialized answer; the same id with another request is REQUEST_ID_REUSED. The record
        is written after the work's own transaction (a crash between the two repeats the
        work on retry: acceptable for these methods, documented in NOTES.md)."""
        if not request_id:
            return await run()
        try:
            uuid.UUID(request_id)
        except ValueError:
            raise invalid_field("request_id", "must be a UUID", "REQUEST_ID_INVALID") from None
        now = self.clock()
        async with self._uow() as uow:
            found = await uow.repo.get_idempotent(
                caller.key, method, request_id, now - IDEMPOTENCY_WINDOW
            )
        if found is not None:
            if found[0] != fingerprint:
                raise invalid_field(
                    "request_id", "was used for another request", "REQUEST_ID_REUSED"
                )
            return self._unseal(found[1], method)
        response = await run()
        async with self._uow() as uow:
            await uow.repo.put_idempotent(
                caller.key, method, request_id, fingerprint, self._seal(response, method), now
            )
            await uow.commit()
        return response

    def _seal(self, response: bytes, method: str) -> bytes:
        cipher = self.policy.idempotency_cipher
        if method == "CreatePersonalAccessToken":
            # The token value may only be kept encrypted; without a key it is not kept.
            if cipher is None or not cipher.enabled:
                return b"strip:" + response
            return b"sealed:" + cipher.seal(response, method).encode()
        return b"plain:" + response

    def _unseal(self, stored: bytes, method: str) -> bytes:
        kind, _, body = stored.partition(b":")
        if kind == b"sealed":
            return self.policy.idempotency_cipher.open(body.decode(), method)
        if kind == b"strip":
            return b"\x00strip:" + body  # the servicer clears the value of this replay
        return body

    # ==== accounts =========================================================================

    async def create_user(
        self, caller: Caller, email: str, password: str, display_name: str
    ) -> str:
        email = self._email(email, "user.email")
        name = self._display_name(display_name, "user.display_name")
        check_policy(password)
        await self._rate(
            f"register:{caller.client_address}",
            self.policy.request_rate_limit,
            self.policy.request_rate_window,
        )
        password_hash = await self._hash(password)  # hashed either way: same timing
        now = self.clock()
        async with self._uow() as uow:
            existing = await uow.repo.find_user_by_email(email)
            if existing is not None:
                await uow.repo.enqueue_email(
                    existing.email or email,
                    "Someone tried to register with your address",
                    "Someone tried to create a Symphony account with this address, which already "
                    "has one. "
                    "If it was you, sign in or reset your password.\n",
                )
            else:
                user = User.new(
                    email=email,
                    email_verified=False,
                    display_name=name,
                    password_hash=password_hash,
                    now=now,
                )
                await uow.repo.insert_user(user)
                await self._audit(
                    uow, user.id, AuditType.USER_CREATED, caller, actor=f"users/{user.id}"
                )
                await self._send_verification(uow, user)
            await uow.commit()
        return email

    async def verify_email(self, caller: Caller, token: str) -> User:
        bad = invalid_field(
            "token", "is unknown, expired or superseded", "VERIFICATION_TOKEN_INVALID"
        )
        if not token or len(token) > 200:
            raise bad
        now = self.clock()
        async with self._uow() as uow:
            row = await uow.repo.get_email_token(secrets.digest(token), "verify")
            if row is None or (row.used_time is None and row.expire_time <= now):
                raise bad
            user = await uow.repo.get_user(row.user_id, for_update=True)
            if user is None or user.state is UserState.DELETED:
                raise bad
            if user.state is UserState.DISABLED:
                raise PermissionDenied("USER_DISABLED", "the account is disabled")
            if row.used_time is None:
                await uow.repo.use_email_token(secrets.digest(token), now)
                if not user.email_verified:
                    await uow.repo.update_user(user.id, now, email_verified=True)
                    await self._audit(
                        uow, user.id, AuditType.EMAIL_VERIFIED, caller, actor=f"users/{user.id}"
                    )
            await uow.commit()
            user = await uow.repo.get_user(user.id)
        return self._decorate(user)  # type: ignore[arg-type]

    async def send_verification_email(self, caller: Caller) -> None:
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            if user.email_verified:
                raise FailedPrecondition(
                    "EMAIL_ALREADY_VERIFIED",
                    "the email address is already verified",
                    precondition_violations=[
                        PreconditionViolation("EMAIL", f"users/{user.id}", "already verified")
                    ],
                )
            await self._rate(f"verify-mail:{user.id}", 5, 3600)
            await self._send_verification(uow, user)
            await uow.commit()

    async def get_current_user(self, caller: Caller) -> User:
        """Answered from the session cache when it holds the caller's session: the same checks
        as every signed-in call, on the rows as of the last write any replica announced."""
        self._require_session_token(caller)
        pair = self.sessions.get(caller.session_id)
        if pair is None:
            generation = self.sessions.generation
            async with self._uow(read_only=True) as uow:
                session, user = await uow.repo.get_session_and_user(caller.session_id)
            if session is not None and user is not None:
                self.sessions.put(session, user, generation)
        else:
            session, user = pair
        return self._require_signed_in(caller, session, user)[0]

    async def update_current_user(
        self, caller: Caller, display_name: str, etag: str, paths: Sequence[str]
    ) -> User:
        for path in paths:
            if path != "display_name":
                raise invalid_field(
                    "update_mask", f"{path} cannot be updated", "FIELD_NOT_UPDATABLE"
                )
        name = (
            self._display_name(display_name, "user.display_name")
            if "display_name" in paths
            else None
        )
        now = self.clock()
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            user = await uow.repo.get_user(user.id, for_update=True)
            if etag and etag != user.etag:
                raise Aborted(
                    "ETAG_MISMATCH", "the account changed since it was read; read it again"
                )
            if name is not None and name != user.display_name:
                await uow.repo.update_user(user.id, now, display_name=name)
                await self._audit(
                    uow, user.id, AuditType.PROFILE_UPDATED, caller, session=self._sname(caller)
                )
            await uow.commit()
            user = await uow.repo.get_user(user.id)
        return self._decorate(user)

    @staticmethod
    def _sname(caller: Caller) -> str:
        return f"users/{caller.user_id}/sessions/{caller.session_id}" if caller.session_id else ""

    async def change_password(
        self, caller: Caller, current: str, new: str, end_other_sessions: bool
    ) -> int:
        check_policy(new, "new_password")
        now = self.clock()
        async with self._uow() as uow:
            user, session = await self._signed_in(uow, caller)
        if user.password_hash:
            key = f"change-password:{user.id}"
            count, reset = await self.limiter.count(key)
            if count >= self.policy.login_account_limit:
                raise too_many("TOO_MANY_ATTEMPTS", reset, f"users/{user.id}")
            if not await self._verify(user.password_hash, current):
                await self.limiter.hit(key, self.policy.login_window)
                raise invalid_credentials()
        elif now - session.create_time > RECENT_LOGIN:
            raise FailedPrecondition("RECENT_LOGIN_REQUIRED", "sign in again to set a password")
        new_hash = await self._hash(new)
        async with self._uow() as uow:
            await uow.repo.update_user(
                user.id, now, password_hash=new_hash, password_change_time=now
            )
            ended = 0
            if end_other_sessions:
                ended = await uow.repo.revoke_user_sessions(
                    user.id, now, "password_changed", except_session=session.id
                )
            await self._audit(
                uow,
                user.id,
                AuditType.PASSWORD_CHANGED,
                caller,
                session=self._sname(caller),
                ended_sessions=str(ended),
            )
            await uow.commit()
        return ended

    async def request_password_reset(self, caller: Caller, email: str) -> None:
        email = self._email(email)
        await self._rate(
            f"reset:{caller.client_address}",
            self.policy.request_rate_limit,
            self.policy.request_rate_window,
        )
        async with self._uow() as uow:
            user = await uow.repo.find_user_by_email(email)
            if user is not None and user.effective_state(self.clock()) is UserState.ACTIVE:
                count, _ = await self.limiter.hit(f"reset-mail:{user.id}", 3600)
                if count <= 5:
                    token = await self._email_token(uow, user, "reset", timedelta(hours=1))
                    await uow.repo.enqueue_email(
                        user.email or email,
                        "Reset your Symphony password",
                        "Reset your password: "
                        f"{self.policy.website_url}/reset-password?token={token}\n"
                        "The link works once, for one hour. Ignore this email if you did not "
                        "ask.\n",
                    )
                    await self._audit(
                        uow, user.id, AuditType.PASSWORD_RESET_REQUESTED, caller, actor=""
                    )
            await uow.commit()

    async def reset_password(self, caller: Caller, token: str, new: str) -> None:
        bad = invalid_field("token", "is unknown, expired or used", "RESET_TOKEN_INVALID")
        if not token or len(token) > 200:
            raise bad
        check_policy(new, "new_password")
        new_hash = await self._hash(new)
        now = self.clock()
        async with self._uow() as uow:
            row = await uow.repo.get_email_token(secrets.digest(token), "reset")
            if row is None or row.used_time is not None or row.expire_time <= now:
                raise bad
            user = await uow.repo.get_user(row.user_id, for_update=True)
            if user is None or user.state is UserState.DELETED:
                raise bad
            if user.state is UserState.DISABLED:
                raise PermissionDenied("USER_DISABLED", "the account is disabled")
            await uow.repo.use_email_token(secrets.digest(token), now)
            await uow.repo.update_user(
                user.id, now, password_hash=new_hash, password_change_time=now, email_verified=True
            )
            await uow.repo.revoke_user_sessions(user.id, now, "password_reset")
            await self._audit(uow, user.id, AuditType.PASSWORD_RESET_COMPLETED, caller, actor="")
            await uow.commit()
        await self.limiter.clear(f"login:acct:{(user.email or '').lower()}")

    async def _set_enabled(self, caller: Caller, name: str, reason: str, enable: bool) -> User:
        target_id = self._user_id(name)
        if len(reason) > 500:
            raise invalid_field("reason", "must be at most 500 characters", "REASON_TOO_LONG")
        now = self.clock()
        async with self._uow() as uow:
            admin, _ = await self._signed_in(uow, caller)
            if not admin.administrator:
                raise PermissionDenied("ADMINISTRATOR_REQUIRED", "only administrators may do this")
            user = await uow.repo.get_user(target_id, for_update=True)
            if user is None:
                raise not_found("User", name, "USER_NOT_FOUND")
            if user.state is UserState.DELETED:
                raise FailedPrecondition("USER_DELETED", "the account was deleted")
            if not enable and user.id == admin.id:
                raise FailedPrecondition(
                    "CANNOT_DISABLE_SELF", "administrators cannot disable themselves"
                )
            if enable and user.state is UserState.DISABLED:
                await uow.repo.update_user(user.id, now, state=UserState.ACTIVE.value)
                await self._audit(uow, user.id, AuditType.USER_ENABLED, caller, reason=reason)
            elif not enable and user.state is not UserState.DISABLED:
                await uow.repo.update_user(user.id, now, state=UserState.DISABLED.value)
                await uow.repo.revoke_user_sessions(user.id, now, "disabled")
                await uow.repo.revoke_user_pats(user.id, now, "disabled")
                await self._audit(uow, user.id, AuditType.USER_DISABLED, caller, reason=reason)
            await uow.commit()
            user = await uow.repo.get_user(user.id)
        return self._decorate(user)  # type: ignore[arg-type]

    async def disable_user(self, caller: Caller, name: str, reason: str) -> User:
        return await self._set_enabled(caller, name, reason, enable=False)

    async def enable_user(self, caller: Caller, name: str, reason: str) -> User:
        return await self._set_enabled(caller, name, reason, enable=True)

    async def delete_current_user(self, caller: Caller) -> None:
        now = self.clock()
        async with self._uow() as uow:
            user, session = await self._signed_in(uow, caller)
            if now - session.create_time > RECENT_LOGIN:
                raise FailedPrecondition(
                    "RECENT_LOGIN_REQUIRED",
                    "sign in again (within 15 minutes) to delete the account",
                )
            user = await uow.repo.get_user(user.id, for_update=True)
            for org_id, role in await uow.repo.memberships_of(user.id):
                members = await uow.repo.count_members(org_id)
                if (
                    role is Role.OWNER
                    and members > 1
                    and await uow.repo.count_owners(org_id, lock=True) == 1
                ):
                    raise FailedPrecondition(
                        "LAST_OWNER",
                        f"you are the last owner of organizations/{org_id}; add another owner "
                        "first",
                        precondition_violations=[
                            PreconditionViolation(
                                "LAST_OWNER", f"organizations/{org_id}", "last owner"
                            )
                        ],
                    )
                await uow.repo.delete_member(org_id, user.id)
                if members == 1:
                    await uow.repo.delete_organization(org_id)
            await uow.repo.revoke_user_sessions(user.id, now, "account_deleted")
            await uow.repo.revoke_user_pats(user.id, now, "account_deleted")
            if user.email:
                await uow.repo.drop_pending_emails(user.email)
            await uow.repo.erase_user(user.id, now)
            for peer in ("sync", "registry"):
                await uow.repo.enqueue_peer_deletion(peer, user.id, str(uuid.uuid4()))
            await uow.commit()

    # ==== sessions =========================================================================

    async def login(
        self, caller: Caller, email: str, password: str, device_name: str, platform: str
    ) -> TokenPair:
        email = self._email(email)
        if len(password) > MAX_LENGTH * 4:
            raise invalid_field(
                "password", f"must be at most {MAX_LENGTH} characters", "PASSWORD_TOO_LONG"
            )
        if len(device_name) > 100:
            raise invalid_field(
                "device_name", "must be at most 100 characters", "DEVICE_NAME_INVALID"
            )
        if len(platform) > 50:
            raise invalid_field("platform", "must be at most 50 characters", "PLATFORM_INVALID")
        account_key = f"login:acct:{email.lower()}"
        address_key = f"login:addr:{caller.client_address}"
        for key, limit in (
            (account_key, self.policy.login_account_limit),
            (address_key, self.policy.login_address_limit),
        ):
            count, reset = await self.limiter.count(key)
            if count >= limit:
                raise too_many("TOO_MANY_ATTEMPTS", reset, key.split(":", 2)[1])
        async with self._uow() as uow:
            user = await uow.repo.find_user_by_email(email)
        ok = await self._verify(user.password_hash if user else None, password)
        now = self.clock()
        if not ok or user is None:
            await self.limiter.hit(account_key, self.policy.login_window)
            await self.limiter.hit(address_key, self.policy.login_window)
            if user is not None:
                # Recorded off the response path: an unknown email (nothing to record) and a
                # wrong password must answer in the same time (AU-10).
                self._spawn(self._record_failed_login(user.id, caller))
            raise invalid_credentials()
        async with self._uow() as uow:
            user = await uow.repo.get_user(user.id, for_update=True)
            await self._require_active_or_audit(uow, user, now, caller)
            if self.hasher.needs_rehash(user.password_hash or ""):
                await uow.repo.update_user(user.id, now, password_hash=await self._hash(password))
            session, pair = await self._start_session(
                uow, user, AuthMethod.PASSWORD, caller, device_name=device_name, platform=platform
            )
            await self._audit(
                uow,
                user.id,
                AuditType.LOGIN_SUCCEEDED,
                caller,
                actor=f"users/{user.id}",
                session=f"users/{user.id}/sessions/{session.id}",
                method="password",
            )
            await uow.commit()
        await self.limiter.clear(account_key)
        return pair

    def _spawn(self, job: Awaitable[None]) -> None:
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _record_failed_login(self, user_id: str, caller: Caller) -> None:
        try:
            async with self._uow() as uow:
                await self._audit(
                    uow,
                    user_id,
                    AuditType.LOGIN_FAILED,
                    caller,
                    actor="",
                    reason="invalid_credentials",
                )
                await uow.commit()
        except DomainError:
            pass  # the database is down: the failure was still counted by the limiter

    async def refresh(self, caller: Caller, refresh_token: str) -> TokenPair:
        if (
            not refresh_token
            or len(refresh_token) > 200
            or not refresh_token.startswith(secrets.REFRESH_PREFIX)
        ):
            raise invalid_grant()
        token_hash = secrets.digest(refresh_token)
        successor = secrets.refresh_successor(refresh_token)
        successor_hash = secrets.digest(successor)
        now = self.clock()
        async with self._uow() as uow:
            session_id = await uow.repo.consume_refresh_token(token_hash, now)
            if session_id is not None:
                session = await uow.repo.get_session(session_id, for_update=True)
                if session is None or not session.active(now):
                    await uow.commit()  # the token stays spent
                    raise invalid_grant()
                user = self._require_active(await uow.repo.get_user(session.user_id), now)
                await uow.repo.insert_refresh_token(successor_hash, session.id, token_hash, now)
                await uow.repo.touch_session(
                    session.id,
                    now,
                    now + self.policy.session_idle,
                    caller.client_address[:100],
                    caller.user_agent[:300],
                )
                await uow.commit()
                return TokenPair(
                    self._mint(user.id, session.id, session.scopes, now),
                    successor,
                    self.policy.access_ttl,
                )
            row = await uow.repo.get_refresh_token(token_hash)
            if row is None:
                raise invalid_grant()
            session = await uow.repo.get_session(row.session_id)
            if session is None or not session.active(now):
                raise invalid_grant()
            next_row = await uow.repo.get_refresh_token(successor_hash)
            within_grace = (
                self.policy.refresh_grace > 0
                and row.used_time is not None
                and (now - row.used_time).total_seconds() <= self.policy.refresh_grace
            )
            if within_grace and next_row is not None and next_row.used_time is None:
                # A retry of the immediately preceding token (its response was lost).
                user = self._require_active(await uow.repo.get_user(session.user_id), now)
                await uow.commit()
                return TokenPair(
                    self._mint(user.id, session.id, session.scopes, now),
                    successor,
                    self.policy.access_ttl,
                )
            await uow.repo.revoke_session(session.id, now, "refresh_token_reused")
            sname = f"users/{session.user_id}/sessions/{session.id}"
            await self._audit(
                uow,
                session.user_id,
                AuditType.REFRESH_TOKEN_REUSED,
                caller,
                actor="",
                session=sname,
            )
            await self._audit(
                uow,
                session.user_id,
                AuditType.SESSION_REVOKED,
                caller,
                actor="",
                session=sname,
                reason="refresh_token_reused",
            )
            await uow.commit()
        raise invalid_grant("the refresh token was already used; the session has been ended")

    async def logout(self, caller: Caller, refresh_token: str) -> None:
        now = self.clock()
        async with self._uow() as uow:
            if refresh_token:
                row = (
                    await uow.repo.get_refresh_token(secrets.digest(refresh_token))
                    if len(refresh_token) <= 200
                    else None
                )
                if row is None:
                    raise Unauthenticated("INVALID_TOKEN", "the refresh token is not valid")
                session = await uow.repo.get_session(row.session_id)
            elif caller.kind == "user" and caller.session_id:
                session = await uow.repo.get_session(caller.session_id)
            elif caller.kind == "pat":
                raise PermissionDenied(
                    "SESSION_TOKEN_REQUIRED", "personal access tokens have no session"
                )
            else:
                raise Unauthenticated(
                    "TOKEN_MISSING", "send the refresh token or a bearer access token"
                )
            if session is not None and await uow.repo.revoke_session(session.id, now, "logout"):
                await self._audit(
                    uow,
                    session.user_id,
                    AuditType.LOGGED_OUT,
                    caller,
                    actor=f"users/{session.user_id}",
                    session=f"users/{session.user_id}/sessions/{session.id}",
                )
            await uow.commit()

    async def list_sessions(self, caller: Caller, size: int, token: str) -> Page:
        async with self._uow() as uow:
            user, _current = await self._signed_in(uow, caller)
            position, limit = self._page(token, {"m": "sessions", "u": user.id}, size)
            after = (datetime.fromisoformat(position["t"]), position["i"]) if position else None
            items = await uow.repo.list_sessions(user.id, self.clock(), after, limit + 1)
        next_token = ""
        if len(items) > limit:
            items = items[:limit]
            last = items[-1]
            next_token = self.pages.encode(
                {"t": last.last_use_time.isoformat(), "i": last.id}, {"m": "sessions", "u": user.id}
            )
        return Page(items, next_token)

    async def delete_session(self, caller: Caller, session_id: str) -> None:
        now = self.clock()
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            session = await uow.repo.get_session(session_id)
            if session is None or session.user_id != user.id or not session.active(now):
                raise not_found(
                    "Session", f"users/{user.id}/sessions/{session_id}", "SESSION_NOT_FOUND"
                )
            await uow.repo.revoke_session(session.id, now, "revoked_by_user")
            await self._audit(
                uow,
                user.id,
                AuditType.SESSION_REVOKED,
                caller,
                session=f"users/{user.id}/sessions/{session.id}",
                reason="revoked_by_user",
            )
            await uow.commit()

    # ==== device authorization (RFC 8628) ==================================================

    @staticmethod
    def _scopes(scopes: Sequence[str], field_name: str = "scopes") -> list[str]:
        out: list[str] = []
        for scope in scopes:
            if scope not in PAT_SCOPES and not NAMESPACE_SCOPE.match(scope):
                raise invalid_field(field_name, f"unknown scope {scope[:80]!r}", "SCOPE_INVALID")
            if scope not in out:
                out.append(scope)
        return out

    async def start_device_authorization(
        self, caller: Caller, device_name: str, platform: str, scopes: Sequence[str]
    ) -> DeviceStart:
        if len(device_name) > 100:
            raise invalid_field(
                "device_name", "must be at most 100 characters", "DEVICE_NAME_INVALID"
            )
        if len(platform) > 50:
            raise invalid_field("platform", "must be at most 50 characters", "PLATFORM_INVALID")
        granted = self._scopes(scopes)
        await self._rate(
            f"device:{caller.client_address}",
            self.policy.request_rate_limit,
            self.policy.request_rate_window,
        )
        now = self.clock()
        device_code = secrets.random_token(32)
        user_code = secrets.new_user_code()
        device = DeviceAuthorization(
            id=str(uuid.uuid4()),
            user_code=user_code,
            device_name=device_name.strip(),
            platform=platform.strip(),
            client_address=caller.client_address[:100],
            scopes=" ".join(granted),
            state="pending",
            user_id=None,
            session_id=None,
            poll_interval=self.policy.device_interval,
            last_poll_time=None,
            create_time=now,
            expire_time=now + timedelta(seconds=self.policy.device_ttl),
        )
        async with self._uow() as uow:
            await uow.repo.insert_device(device, secrets.digest(device_code))
            await uow.commit()
        shown = secrets.display_user_code(user_code)
        uri = f"{self.policy.website_url}/device"
        return DeviceStart(
            device_code,
            shown,
            uri,
            f"{uri}?{urlencode({'user_code': shown})}",
            self.policy.device_interval,
            self.policy.device_ttl,
        )

    async def _device_by_user_code(
        self, uow: AuthUnitOfWork, caller: Caller, user_code: str
    ) -> tuple[User, DeviceAuthorization]:
        user, _ = await self._signed_in(uow, caller)
        now = self.clock()
        since = now - timedelta(seconds=self.policy.device_ttl)
        if await uow.repo.count_user_code_attempts(user.id, since) >= USER_CODE_ATTEMPTS:
            raise too_many(
                "TOO_MANY_USER_CODE_ATTEMPTS", self.policy.device_ttl, f"users/{user.id}"
            )
        code = secrets.normalise_user_code(user_code)
        device = None
        if len(code) == 8 and all(ch in secrets.USER_CODE_ALPHABET for ch in code):
            device = await uow.repo.find_pending_device_by_user_code(code, now)
        if device is None:
            await uow.repo.add_user_code_attempt(user.id, now)
            await uow.commit()
            raise NotFound(
                "USER_CODE_INVALID",
                "the code is unknown or expired",
                resource=ResourceRef("DeviceAuthorization", ""),
            )
        return user, device

    async def lookup_device_authorization(
        self, caller: Caller, user_code: str
    ) -> DeviceAuthorization:
        async with self._uow() as uow:
            _, device = await self._device_by_user_code(uow, caller, user_code)
            await uow.commit()
        return device

    async def decide_device_authorization(
        self, caller: Caller, user_code: str, approve: bool
    ) -> DeviceAuthorization:
        async with self._uow() as uow:
            user, device = await self._device_by_user_code(uow, caller, user_code)
            if device.state != "pending":
                raise FailedPrecondition(
                    "DEVICE_AUTHORIZATION_ALREADY_DECIDED", "this sign-in was already decided"
                )
            device.state = "approved" if approve else "denied"
            device.user_id = user.id
            await uow.repo.update_device(device.id, state=device.state, user_id=user.id)
            kind = (
                AuditType.DEVICE_AUTHORIZATION_APPROVED
                if approve
                else AuditType.DEVICE_AUTHORIZATION_DENIED
            )
            await self._audit(
                uow,
                user.id,
                kind,
                caller,
                resource=f"deviceAuthorizations/{device.id}",
                device_name=device.device_name,
                device_address=device.client_address,
            )
            await uow.commit()
        return device

    async def exchange_device_code(self, caller: Caller, device_code: str) -> TokenPair:
        if not device_code or len(device_code) > 200:
            raise invalid_grant()
        now = self.clock()
        async with self._uow() as uow:
            device = await uow.repo.find_device_by_code(secrets.digest(device_code))
            if device is None or device.state == "redeemed":
                raise invalid_grant()
            if device.expire_time <= now:
                raise FailedPrecondition("EXPIRED_TOKEN", "the device code expired; start again")
            if (
                device.last_poll_time is not None
                and (now - device.last_poll_time).total_seconds() < device.poll_interval
            ):
                interval = device.poll_interval + 5
                await uow.repo.update_device(device.id, poll_interval=interval, last_poll_time=now)
                await uow.commit()
                raise ResourceExhausted(
                    "SLOW_DOWN",
                    f"poll at most every {interval} seconds",
                    retry_after_seconds=float(interval),
                    quota_violations=[QuotaViolation("device_code", "polled too fast")],
                )
            await uow.repo.update_device(device.id, last_poll_time=now)
            if device.state == "pending":
                await uow.commit()
                raise FailedPrecondition(
                    "AUTHORIZATION_PENDING", "waiting for the user to approve the code"
                )
            if device.state == "denied":
                await uow.commit()
                raise PermissionDenied("ACCESS_DENIED", "the user denied this sign-in")
            user = await uow.repo.get_user(device.user_id or "")
            try:
                self._require_active(user, now)
            except DomainError:
                await uow.repo.update_device(device.id, state="redeemed")
                await uow.commit()
                raise
            assert user is not None
            session, pair = await self._start_session(
                uow,
                user,
                AuthMethod.DEVICE_AUTHORIZATION,
                caller,
                device_name=device.device_name,
                platform=device.platform,
                scopes=device.scopes,
            )
            await uow.repo.update_device(device.id, state="redeemed", session_id=session.id)
            await self._audit(
                uow,
                user.id,
                AuditType.LOGIN_SUCCEEDED,
                caller,
                actor=f"users/{user.id}",
                session=f"users/{user.id}/sessions/{session.id}",
                method="device_authorization",
            )
            await uow.commit()
        return pair

    # ==== external login (OIDC) ============================================================

    def list_identity_providers(self) -> list[Any]:
        return list(self.policy.providers.values())

    def _provider(self, provider: str) -> Any:
        config = self.policy.providers.get(provider)
        if config is None or self.providers is None:
            raise not_found("IdentityProvider", provider[:100], "IDENTITY_PROVIDER_NOT_FOUND")
        return config

    async def start_external_login(
        self, caller: Caller, provider: str, redirect_uri: str
    ) -> ExternalStart:
        config = self._provider(provider)
        if redirect_uri not in config.redirect_uris:
            raise invalid_field(
                "redirect_uri", "is not a configured redirect URI", "REDIRECT_URI_NOT_ALLOWED"
            )
        assert self.providers is not None
        endpoint = await self.providers.authorization_endpoint(provider)
        state = secrets.random_token(32)
        nonce = secrets.random_token(32)
        verifier = secrets.random_token(48)
        now = self.clock()
        expire = now + timedelta(seconds=self.policy.external_ttl)
        async with self._uow() as uow:
            await uow.repo.insert_external_login(
                secrets.digest(state), provider, redirect_uri, nonce, verifier, now, expire
            )
            await uow.commit()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": config.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(config.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": secrets.pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in endpoint else "?"
        return ExternalStart(f"{endpoint}{separator}{query}", state, expire)

    async def complete_external_login(
        self,
        caller: Caller,
        provider: str,
        code: str,
        state: str,
        redirect_uri: str,
        device_name: str,
        platform: str,
    ) -> TokenPair:
        self._provider(provider)
        if not code or not state or len(code) > 2000 or len(state) > 200:
            raise invalid_grant()
        state_hash = secrets.digest(state)
        now = self.clock()
        async with self._uow() as uow:
            row = await uow.repo.get_external_login(state_hash)
            if row is None or row.provider != provider:
                raise invalid_grant()
            if row.used_time is not None:
                # A replayed callback: the first exchange's session may be an attacker's.
                if row.session_id:
                    session = await uow.repo.get_session(row.session_id)
                    if session and await uow.repo.revoke_session(
                        session.id, now, "authorization_code_replayed"
                    ):
                        await self._audit(
                            uow,
                            session.user_id,
                            AuditType.SESSION_REVOKED,
                            caller,
                            actor="",
                            session=f"users/{session.user_id}/sessions/{session.id}",
                            reason="authorization_code_replayed",
                        )
                await uow.commit()
                raise invalid_grant("the login state was already used")
            if row.expire_time <= now:
                raise invalid_grant("the login took too long; start again")
            if redirect_uri != row.redirect_uri:
                raise invalid_field(
                    "redirect_uri", "differs from the one given at start", "REDIRECT_URI_MISMATCH"
                )
            await uow.repo.use_external_login(state_hash, now)
            await uow.commit()
        assert self.providers is not None
        id_token = await self.providers.exchange_code(
            provider, code, redirect_uri, row.code_verifier
        )
        claims = await self.providers.verify_id_token(provider, id_token, row.nonce)
        subject = str(claims.get("sub", ""))
        email_claim = claims.get("email")
        verified = claims.get("email_verified") is True
        now = self.clock()
        async with self._uow() as uow:
            user_id = await uow.repo.find_identity(provider, subject)
            user = await uow.repo.get_user(user_id) if user_id else None
            if user is None:
                email = None
                if isinstance(email_claim, str):
                    try:
                        email = self._email(email_claim)
                    except InvalidArgument:
                        email = None
                existing = await uow.repo.find_user_by_email(email) if email else None
                if existing is not None:
                    if not verified:
                        raise FailedPrecondition(
                            "PROVIDER_EMAIL_NOT_VERIFIED",
                            "an account with this email exists; the provider does not assert it "
                            "verified",
                        )
                    user = existing
                else:
                    name = (
                        str(claims.get("name") or (email or "user").split("@")[0]).strip()[:100]
                        or "user"
                    )
                    user = User.new(
                        email=email,
                        email_verified=bool(email and verified),
                        display_name=name,
                        password_hash=None,
                        now=now,
                    )
                    await uow.repo.insert_user(user)
                    await self._audit(
                        uow,
                        user.id,
                        AuditType.USER_CREATED,
                        caller,
                        actor=f"users/{user.id}",
                        provider=provider,
                    )
                await uow.repo.insert_identity(provider, subject, user.id, email, now)
                await self._audit(
                    uow,
                    user.id,
                    AuditType.IDENTITY_LINKED,
                    caller,
                    actor=f"users/{user.id}",
                    provider=provider,
                )
            await self._require_active_or_audit(uow, user, now, caller)
            session, pair = await self._start_session(
                uow,
                user,
                AuthMethod.EXTERNAL_IDENTITY,
                caller,
                device_name=device_name[:100],
                platform=platform[:50],
                provider=provider,
            )
            await uow.repo.set_external_login_session(state_hash, session.id)
            await self._audit(
                uow,
                user.id,
                AuditType.LOGIN_SUCCEEDED,
                caller,
                actor=f"users/{user.id}",
                session=f"users/{user.id}/sessions/{session.id}",
                method="external_identity",
                provider=provider,
            )
            await uow.commit()
        return pair

    # ==== personal access tokens ===========================================================

    async def create_personal_access_token(
        self,
        caller: Caller,
        display_name: str,
        scopes: Sequence[str],
        expire_time: datetime | None,
        ttl_seconds: float | None,
    ) -> PersonalAccessToken:
        name = self._display_name(display_name, "personal_access_token.display_name")
        if not scopes:
            raise invalid_field(
                "personal_access_token.scopes", "at least one scope is required", "SCOPE_INVALID"
            )
        granted = self._scopes(scopes, "personal_access_token.scopes")
        now = self.clock()
        if expire_time is None and ttl_seconds is not None:
            expire_time = now + timedelta(seconds=ttl_seconds)
        expire = expire_time or now + PAT_DEFAULT_TTL
        if expire <= now or expire > now + PAT_MAX_TTL:
            raise invalid_field(
                "personal_access_token.expire_time",
                "must be in the future and at most one year ahead",
                "EXPIRE_TIME_INVALID",
            )
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            if await uow.repo.count_active_pats(user.id, now) >= PAT_LIMIT:
                raise ResourceExhausted(
                    "TOKEN_LIMIT_REACHED",
                    f"at most {PAT_LIMIT} active tokens per user",
                    quota_violations=[QuotaViolation(f"users/{user.id}", "token limit")],
                )
            value = secrets.new_personal_access_token()
            pat = PersonalAccessToken(
                id=str(uuid.uuid4()),
                user_id=user.id,
                display_name=name,
                scopes=granted,
                token_hint=value[:9],
                create_time=now,
                expire_time=expire,
                last_use_time=None,
                revoke_time=None,
                token=value,
            )
            await uow.repo.insert_pat(pat, secrets.digest(value))
            await self._audit(
                uow,
                user.id,
                AuditType.PERSONAL_ACCESS_TOKEN_CREATED,
                caller,
                resource=f"users/{user.id}/tokens/{pat.id}",
                session=self._sname(caller),
                scopes=" ".join(granted),
            )
            await uow.commit()
        return pat

    async def list_personal_access_tokens(
        self, caller: Caller, size: int, token: str, show_revoked: bool
    ) -> Page:
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            query = {"m": "pats", "u": user.id, "r": show_revoked}
            position, limit = self._page(token, query, size)
            after = (datetime.fromisoformat(position["t"]), position["i"]) if position else None
            items = await uow.repo.list_pats(user.id, show_revoked, after, limit + 1)
        next_token = ""
        if len(items) > limit:
            items = items[:limit]
            next_token = self.pages.encode(
                {"t": items[-1].create_time.isoformat(), "i": items[-1].id}, query
            )
        return Page(items, next_token)

    async def delete_personal_access_token(self, caller: Caller, token_id: str) -> None:
        now = self.clock()
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            pat = await uow.repo.get_pat(user.id, token_id)
            if pat is None:
                raise not_found(
                    "PersonalAccessToken",
                    f"users/{user.id}/tokens/{token_id[:64]}",
                    "TOKEN_NOT_FOUND",
                )
            if await uow.repo.revoke_pat(pat.id, now, "revoked_by_user"):
                await self._audit(
                    uow,
                    user.id,
                    AuditType.PERSONAL_ACCESS_TOKEN_REVOKED,
                    caller,
                    resource=f"users/{user.id}/tokens/{pat.id}",
                )
            await uow.commit()

    # ==== introspection and leaks ==========================================================

    async def introspect(self, token: str) -> Introspection:
        if not token:
            raise invalid_field("token", "is required", "TOKEN_MISSING")
        if len(token.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
            raise invalid_field("token", "is longer than 8 KiB", "TOKEN_TOO_LONG")
        now = self.clock()
        if token.startswith(secrets.PAT_PREFIX):
            return await self._introspect_pat(token, now)
        if token.startswith(secrets.REFRESH_PREFIX):
            return Introspection(
                False,
                TokenKind.REFRESH_TOKEN,
                InactiveReason.WRONG_KIND,
                cache_ttl_seconds=PAT_CACHE_TTL,
            )
        return await self._introspect_access(token, now)

    async def _introspect_pat(self, token: str, now: datetime) -> Introspection:
        kind = TokenKind.PERSONAL_ACCESS_TOKEN
        if not secrets.pat_well_formed(token):
            return Introspection(
                False, kind, InactiveReason.UNKNOWN, cache_ttl_seconds=PAT_CACHE_TTL
            )
        async with self._uow() as uow:
            pat = await uow.repo.find_pat_by_hash(secrets.digest(token))
            if pat is None:
                return Introspection(
                    False, kind, InactiveReason.UNKNOWN, cache_ttl_seconds=PAT_CACHE_TTL
                )
            if pat.revoke_time is not None:
                return Introspection(
                    False, kind, InactiveReason.REVOKED, cache_ttl_seconds=PAT_CACHE_TTL
                )
            if pat.expire_time <= now:
                return Introspection(
                    False, kind, InactiveReason.EXPIRED, cache_ttl_seconds=PAT_CACHE_TTL
                )
            user = await uow.repo.get_user(pat.user_id)
            try:
                self._require_active(user, now)
            except DomainError:
                return Introspection(
                    False, kind, InactiveReason.USER_INACTIVE, cache_ttl_seconds=PAT_CACHE_TTL
                )
            await uow.repo.touch_pat(pat.id, now, now - timedelta(minutes=1))
            await uow.commit()
        ttl = min(PAT_CACHE_TTL, (pat.expire_time - now).total_seconds())
        return Introspection(
            True,
            kind,
            user_id=pat.user_id,
            scopes=list(pat.scopes),
            token_id=f"users/{pat.user_id}/tokens/{pat.id}",
            issue_time=pat.create_time,
            expire_time=pat.expire_time,
            cache_ttl_seconds=ttl,
        )

    async def _introspect_access(self, token: str, now: datetime) -> Introspection:
        kind = TokenKind.ACCESS_TOKEN
        await self.keys.ensure_loaded()
        try:
            claims = self.keys.decode(token)
        except jwt.ExpiredSignatureError:
            return Introspection(
                False, kind, InactiveReason.EXPIRED, cache_ttl_seconds=PAT_CACHE_TTL
            )
        if claims is None:
            return Introspection(
                False,
                TokenKind.UNSPECIFIED,
                InactiveReason.UNKNOWN,
                cache_ttl_seconds=PAT_CACHE_TTL,
            )
        async with self._uow() as uow:
            session = await uow.repo.get_session(str(claims.get("sid", "")))
            if session is None or session.user_id != claims["sub"] or not session.active(now):
                return Introspection(
                    False, kind, InactiveReason.REVOKED, cache_ttl_seconds=PAT_CACHE_TTL
                )
            try:
                self._require_active(await uow.repo.get_user(str(claims["sub"])), now)
            except DomainError:
                return Introspection(
                    False, kind, InactiveReason.USER_INACTIVE, cache_ttl_seconds=PAT_CACHE_TTL
                )
        expire = datetime.fromtimestamp(int(claims["exp"]), UTC)
        aud = claims.get("aud", [])
        return Introspection(
            True,
            kind,
            user_id=str(claims["sub"]),
            scopes=str(claims.get("scope", "")).split(),
            session_id=f"users/{claims['sub']}/sessions/{session.id}",
            audiences=[aud] if isinstance(aud, str) else list(aud),
            issue_time=datetime.fromtimestamp(int(claims["iat"]), UTC),
            expire_time=expire,
            cache_ttl_seconds=max(0.0, min(PAT_CACHE_TTL, (expire - now).total_seconds())),
        )

    async def revoke_leaked_token(
        self, caller: Caller, token: str, location: str, reporter: str
    ) -> tuple[str, TokenKind]:
        if not token:
            raise invalid_field("token", "is required", "TOKEN_MISSING")
        if not location or len(location) > 500:
            raise invalid_field("location", "must be 1 to 500 characters", "LOCATION_INVALID")
        if len(token) > MAX_TOKEN_BYTES:
            return "not_found", TokenKind.UNSPECIFIED
        now = self.clock()
        async with self._uow() as uow:
            user_id, kind, revoked, resource = "", TokenKind.UNSPECIFIED, False, ""
            if token.startswith(secrets.PAT_PREFIX):
                kind = TokenKind.PERSONAL_ACCESS_TOKEN
                pat = (
                    await uow.repo.find_pat_by_hash(secrets.digest(token))
                    if secrets.pat_well_formed(token)
                    else None
                )
                if pat is None:
                    return "not_found", kind
                user_id, resource = pat.user_id, f"users/{pat.user_id}/tokens/{pat.id}"
                revoked = pat.expire_time > now and await uow.repo.revoke_pat(pat.id, now, "leaked")
            else:
                session_id = ""
                if token.startswith(secrets.REFRESH_PREFIX):
                    kind = TokenKind.REFRESH_TOKEN
                    row = await uow.repo.get_refresh_token(secrets.digest(token))
                    session_id = row.session_id if row else ""
                else:
                    try:
                        claims = self.keys.decode(token, verify_exp=False)
                    except jwt.PyJWTError:
                        claims = None
                    if claims:
                        kind, session_id = TokenKind.ACCESS_TOKEN, str(claims.get("sid", ""))
                session = await uow.repo.get_session(session_id) if session_id else None
                if session is None:
                    return "not_found", kind
                user_id, resource = (
                    session.user_id,
                    f"users/{session.user_id}/sessions/{session.id}",
                )
                revoked = await uow.repo.revoke_session(session.id, now, "leaked")
            if revoked:
                await self._audit(
                    uow,
                    user_id,
                    AuditType.TOKEN_LEAKED,
                    caller,
                    actor="",
                    resource=resource,
                    location=location,
                    reporter=reporter[:50],
                )
                user = await uow.repo.get_user(user_id)
                if user and user.email:
                    await uow.repo.enqueue_email(
                        user.email,
                        "A Symphony token of yours was found leaked and revoked",
                        f"A token ({resource}) was found at {location} and has been revoked. "
                        "Create a new one if you still need it.\n",
                    )
            await uow.commit()
        return ("revoked" if revoked else "already_inactive"), kind

    # ==== organizations ====================================================================

    @staticmethod
    def _org_id(name: str, field_name: str = "name") -> str:
        org_id = name.removeprefix("organizations/") if name.startswith("organizations/") else ""
        if not ORG_ID.match(org_id):
            raise invalid_field(
                field_name, "must be organizations/{organization}", "ORGANIZATION_NAME_INVALID"
            )
        return org_id

    @staticmethod
    def _user_id(name: str, field_name: str = "name") -> str:
        user_id = name.removeprefix("users/") if name.startswith("users/") else ""
        try:
            return str(uuid.UUID(user_id))
        except ValueError:
            raise invalid_field(field_name, "must be users/{user}", "USER_NAME_INVALID") from None

    async def _org_for(
        self, uow: AuthUnitOfWork, org_id: str, *, for_update: bool = False
    ) -> Organization:
        org = await uow.repo.get_organization(org_id, for_update=for_update)
        if org is None:
            raise not_found("Organization", f"organizations/{org_id}", "ORGANIZATION_NOT_FOUND")
        return org

    async def _role(self, uow: AuthUnitOfWork, org_id: str, user_id: str) -> Role | None:
        member = await uow.repo.get_member(org_id, user_id)
        return member.role if member else None

    async def create_organization(
        self, caller: Caller, org_id: str, display_name: str, description: str
    ) -> Organization:
        if not ORG_ID.match(org_id):
            raise invalid_field(
                "organization_id",
                "2 to 39 lowercase letters, digits and single hyphens, starting with a letter",
                "ORGANIZATION_ID_INVALID",
            )
        name = self._display_name(display_name, "organization.display_name")
        if len(description) > 1000:
            raise invalid_field(
                "organization.description",
                "must be at most 1000 characters",
                "DESCRIPTION_TOO_LONG",
            )
        now = self.clock()
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            if await uow.repo.count_owned_organizations(user.id) >= ORG_LIMIT:
                raise ResourceExhausted(
                    "ORGANIZATION_LIMIT_REACHED",
                    f"at most {ORG_LIMIT} organizations per user",
                    quota_violations=[QuotaViolation(f"users/{user.id}", "organization limit")],
                )
            org = Organization(org_id, str(uuid.uuid4()), name, description, now, now, 1)
            await uow.repo.insert_organization(org)
            await uow.repo.insert_member(org_id, user.id, Role.OWNER, now)
            await self._audit(
                uow,
                user.id,
                AuditType.ORGANIZATION_CREATED,
                caller,
                resource=f"organizations/{org_id}",
            )
            await uow.commit()
        return org

    async def list_organizations(self, caller: Caller, size: int, token: str) -> Page:
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
        return await self.list_user_organizations(
            f"users/{user.id}", size, token, memberships=False
        )

    async def get_organization(self, caller: Caller, name: str) -> Organization:
        org_id = self._org_id(name)
        async with self._uow() as uow:
            await self._signed_in(uow, caller)
            return await self._org_for(uow, org_id)

    async def update_organization(
        self,
        caller: Caller,
        name: str,
        display_name: str,
        description: str,
        etag: str,
        paths: Sequence[str],
    ) -> Organization:
        org_id = self._org_id(name, "organization.name")
        fields: dict[str, Any] = {}
        for path in paths:
            if path == "display_name":
                fields["display_name"] = self._display_name(
                    display_name, "organization.display_name"
                )
            elif path == "description":
                if len(description) > 1000:
                    raise invalid_field(
                        "organization.description",
                        "must be at most 1000 characters",
                        "DESCRIPTION_TOO_LONG",
                    )
                fields["description"] = description
            else:
                raise invalid_field(
                    "update_mask", f"{path} cannot be updated", "FIELD_NOT_UPDATABLE"
                )
        now = self.clock()
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            org = await self._org_for(uow, org_id, for_update=True)
            if await self._role(uow, org_id, user.id) not in (Role.OWNER, Role.ADMIN):
                raise PermissionDenied(
                    "ORGANIZATION_ADMIN_REQUIRED", "only owners and admins may do this"
                )
            if etag and etag != org.etag:
                raise Aborted("ETAG_MISMATCH", "the organization changed since it was read")
            if fields:
                await uow.repo.update_organization(org_id, now, **fields)
            await uow.commit()
            return await self._org_for(uow, org_id)

    async def list_organization_members(
        self, caller: Caller, parent: str, size: int, token: str
    ) -> Page:
        org_id = self._org_id(parent, "parent")
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            await self._org_for(uow, org_id)
            if await self._role(uow, org_id, user.id) is None:
                raise PermissionDenied(
                    "ORGANIZATION_MEMBER_REQUIRED", "only members may list members"
                )
            query = {"m": "members", "o": org_id}
            position, limit = self._page(token, query, size)
            after = (int(position["r"]), position["i"]) if position else None
            items = await uow.repo.list_members(org_id, after, limit + 1)
        next_token = ""
        if len(items) > limit:
            items = items[:limit]
            next_token = self.pages.encode(
                {"r": int(items[-1].role), "i": items[-1].user_id}, query
            )
        return Page(items, next_token)

    @staticmethod
    def _role_value(role: int) -> Role:
        try:
            return Role(role)
        except ValueError:
            raise invalid_field("role", "must be OWNER, ADMIN or MEMBER", "ROLE_INVALID") from None

    async def add_organization_member(
        self, caller: Caller, parent: str, email: str, role: int
    ) -> Member:
        org_id = self._org_id(parent, "parent")
        email = self._email(email)
        new_role = self._role_value(role)
        now = self.clock()
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            await self._org_for(uow, org_id, for_update=True)
            mine = await self._role(uow, org_id, user.id)
            if mine not in (Role.OWNER, Role.ADMIN):
                raise PermissionDenied(
                    "ORGANIZATION_ADMIN_REQUIRED", "only owners and admins may add members"
                )
            if new_role is Role.OWNER and mine is not Role.OWNER:
                raise PermissionDenied("ORGANIZATION_OWNER_REQUIRED", "only owners may add owners")
            await self._rate(f"add-member:{user.id}", 30, 3600)
            target = await uow.repo.find_user_by_email(email)
            if target is None or target.effective_state(now) is not UserState.ACTIVE:
                raise not_found("User", email, "USER_NOT_FOUND")
            await uow.repo.insert_member(org_id, target.id, new_role, now)
            await self._audit(
                uow,
                user.id,
                AuditType.ORGANIZATION_MEMBER_ADDED,
                caller,
                resource=f"organizations/{org_id}/members/{target.id}",
                role=new_role.name,
            )
            if target.id != user.id:
                await self._audit(
                    uow,
                    target.id,
                    AuditType.ORGANIZATION_MEMBER_ADDED,
                    caller,
                    resource=f"organizations/{org_id}/members/{target.id}",
                    role=new_role.name,
                )
            await uow.commit()
            return await uow.repo.get_member(org_id, target.id)

    def _member_name(self, name: str, caller_id: str, field_name: str = "name") -> tuple[str, str]:
        parts = name.split("/")
        if (
            len(parts) != 4
            or parts[0] != "organizations"
            or parts[2] != "members"
            or not ORG_ID.match(parts[1])
        ):
            raise invalid_field(
                field_name,
                "must be organizations/{organization}/members/{member}",
                "MEMBER_NAME_INVALID",
            )
        member = caller_id if parts[3] == "me" else parts[3]
        return parts[1], member

    async def update_organization_member(
        self, caller: Caller, name: str, role: int, etag: str, paths: Sequence[str]
    ) -> Member:
        for path in paths:
            if path != "role":
                raise invalid_field(
                    "update_mask", f"{path} cannot be updated", "FIELD_NOT_UPDATABLE"
                )
        new_role = self._role_value(role)
        now = self.clock()
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            org_id, member_id = self._member_name(name, user.id, "member.name")
            await self._org_for(uow, org_id, for_update=True)
            mine = await self._role(uow, org_id, user.id)
            if mine not in (Role.OWNER, Role.ADMIN):
                raise PermissionDenied(
                    "ORGANIZATION_ADMIN_REQUIRED", "only owners and admins may change roles"
                )
            member = await uow.repo.get_member(org_id, member_id, for_update=True)
            if member is None:
                raise not_found("OrganizationMember", name, "MEMBER_NOT_FOUND")
            if (Role.OWNER in (member.role, new_role)) and mine is not Role.OWNER:
                raise PermissionDenied(
                    "ORGANIZATION_OWNER_REQUIRED", "only owners grant or take the owner role"
                )
            if etag and etag != member.etag:
                raise Aborted("ETAG_MISMATCH", "the membership changed since it was read")
            if (
                member.role is Role.OWNER
                and new_role is not Role.OWNER
                and await uow.repo.count_owners(org_id, lock=True) <= 1
            ):
                raise FailedPrecondition(
                    "LAST_OWNER",
                    "an organization keeps at least one owner",
                    precondition_violations=[
                        PreconditionViolation("LAST_OWNER", f"organizations/{org_id}", "last owner")
                    ],
                )
            if new_role is not member.role:
                await uow.repo.update_member_role(org_id, member_id, new_role, now)
                # In the member's log and, like an addition, in the acting admin's own log.
                for subject in dict.fromkeys((member_id, user.id)):
                    await self._audit(
                        uow,
                        subject,
                        AuditType.ORGANIZATION_ROLE_CHANGED,
                        caller,
                        resource=f"organizations/{org_id}/members/{member_id}",
                        role=new_role.name,
                    )
            await uow.commit()
            return await uow.repo.get_member(org_id, member_id)

    async def remove_organization_member(self, caller: Caller, name: str) -> None:
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            org_id, member_id = self._member_name(name, user.id)
            await self._org_for(uow, org_id, for_update=True)
            mine = await self._role(uow, org_id, user.id)
            member = await uow.repo.get_member(org_id, member_id, for_update=True)
            leaving = member_id == user.id
            if not leaving and mine not in (Role.OWNER, Role.ADMIN):
                raise PermissionDenied(
                    "ORGANIZATION_ADMIN_REQUIRED", "only owners and admins may remove members"
                )
            if member is None:
                raise not_found("OrganizationMember", name, "MEMBER_NOT_FOUND")
            if not leaving and member.role is Role.OWNER and mine is not Role.OWNER:
                raise PermissionDenied("ORGANIZATION_OWNER_REQUIRED", "only owners remove owners")
            if member.role is Role.OWNER and await uow.repo.count_owners(org_id, lock=True) <= 1:
                raise FailedPrecondition(
                    "LAST_OWNER",
                    "the last owner cannot leave or be removed",
                    precondition_violations=[
                        PreconditionViolation("LAST_OWNER", f"organizations/{org_id}", "last owner")
                    ],
                )
            await uow.repo.delete_member(org_id, member_id)
            # In the member's log and, like an addition, in the acting admin's own log.
            for subject in dict.fromkeys((member_id, user.id)):
                await self._audit(
                    uow,
                    subject,
                    AuditType.ORGANIZATION_MEMBER_REMOVED,
                    caller,
                    resource=f"organizations/{org_id}/members/{member_id}",
                )
            await uow.commit()

    # ==== internal reads ===================================================================

    async def get_user(self, name: str) -> User:
        user_id = self._user_id(name)
        async with self._uow() as uow:
            user = await uow.repo.get_user(user_id)
        if user is None:
            raise not_found("User", name, "USER_NOT_FOUND")
        return self._decorate(user)

    async def batch_get_users(self, names: Sequence[str], allow_missing: bool) -> list[User]:
        if len(names) > 1000:
            raise invalid_field("names", "at most 1000 names", "TOO_MANY_NAMES")
        ids = [self._user_id(n, "names") for n in names]
        async with self._uow() as uow:
            found = await uow.repo.get_users(ids)
        out = []
        for name, user_id in zip(names, ids, strict=True):
            if user_id in found:
                out.append(self._decorate(found[user_id]))
            elif not allow_missing:
                raise not_found("User", name, "USER_NOT_FOUND")
        return out

    async def batch_get_organizations(
        self, names: Sequence[str], allow_missing: bool
    ) -> list[Organization]:
        if len(names) > 1000:
            raise invalid_field("names", "at most 1000 names", "TOO_MANY_NAMES")
        ids = [self._org_id(n, "names") for n in names]
        async with self._uow() as uow:
            found = await uow.repo.get_organizations(ids)
        out = []
        for name, org_id in zip(names, ids, strict=True):
            if org_id in found:
                out.append(found[org_id])
            elif not allow_missing:
                raise not_found("Organization", name, "ORGANIZATION_NOT_FOUND")
        return out

    async def list_user_organizations(
        self, user: str, size: int, token: str, *, memberships: bool = True
    ) -> Page:
        user_id = self._user_id(user, "user")
        query = {"m": "user-orgs", "u": user_id}
        position, limit = self._page(token, query, size)
        async with self._uow() as uow:
            rows = await uow.repo.list_user_organizations(
                user_id, position["o"] if position else None, limit + 1
            )
        next_token = ""
        if len(rows) > limit:
            rows = rows[:limit]
            next_token = self.pages.encode({"o": rows[-1][0].id}, query)
        return Page(rows if memberships else [org for org, _ in rows], next_token)

    async def get_organization_membership(self, organization: str, user: str) -> Member:
        org_id = self._org_id(organization, "organization")
        user_id = self._user_id(user, "user")
        async with self._uow() as uow:
            await self._org_for(uow, org_id)
            member = await uow.repo.get_member(org_id, user_id)
        if member is None:
            raise not_found(
                "OrganizationMember", f"{organization}/members/{user_id}", "MEMBER_NOT_FOUND"
            )
        return member

    async def list_audit_events(
        self, caller: Caller, size: int, token: str, types: Sequence[int]
    ) -> Page:
        async with self._uow() as uow:
            user, _ = await self._signed_in(uow, caller)
            query = {"m": "audit", "u": user.id, "t": sorted(set(types))}
            position, limit = self._page(token, query, size)
            after = (datetime.fromisoformat(position["t"]), position["i"]) if position else None
            items = await uow.repo.list_audit(user.id, list(types), after, limit + 1)
        next_token = ""
        if len(items) > limit:
            items = items[:limit]
            next_token = self.pages.encode(
                {"t": items[-1].create_time.isoformat(), "i": items[-1].id}, query
            )
        return Page(items, next_token)

    async def jwks(self) -> list[dict[str, str]]:
        await self.keys.ensure_loaded()
        return self.keys.jwks()


__all__ = ["ISSUING_PATHS", "AuthService", "DeviceStart", "ExternalStart", "Policy", "Unavailable"]
