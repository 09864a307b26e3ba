# ruff: noqa: S608 - the interpolated SQL fragments are column lists and field names from this module, never input
"""All SQL of the auth service (SQLAlchemy Core over psycopg 3). Driver errors are translated
here; nothing from sqlalchemy or psycopg leaves this package."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

from symphony_auth.domain.models import (
    AuditEvent,
    AuditType,
    AuthMethod,
    DeviceAuthorization,
    Member,
    Organization,
    PersonalAccessToken,
    RefreshToken,
    Role,
    Session,
    User,
    UserState,
)
from symphony_common.db.unit_of_work import translate_db_errors
from symphony_common.errors import AlreadyExists, ResourceRef

USER_COLUMNS = (
    "u.id::text AS id, u.email, u.email_verified, u.display_name, u.password_hash, u.state, "
    "u.lock_expire_time, u.password_change_time, u.create_time, u.update_time, u.delete_time, "
    "u.version, coalesce((SELECT array_agg(i.provider ORDER BY i.provider) FROM auth.identities i "
    "WHERE i.user_id = u.id), '{}') AS providers"
)
SESSION_COLUMNS = (
    "id::text AS id, user_id::text AS user_id, device_name, platform, method, identity_provider, "
    "client_address, user_agent, scopes, create_time, last_use_time, idle_expire_time, "
    "absolute_expire_time, revoke_time, revoke_reason"
)
PAT_COLUMNS = (
    "id::text AS id, user_id::text AS user_id, display_name, scopes, token_hint, create_time, "
    "expire_time, last_use_time, revoke_time"
)
DEVICE_COLUMNS = (
    "id::text AS id, user_code, device_name, platform, client_address, scopes, state, "
    "user_id::text AS user_id, session_id::text AS session_id, poll_interval, last_poll_time, "
    "create_time, expire_time"
)
ORG_COLUMNS = "id, uid::text AS uid, display_name, description, create_time, update_time, version"


def _prefixed(columns: str, table: str, prefix: str) -> str:
    """`columns` (as above) qualified by `table` and renamed `<prefix><name>`, to join them."""
    out = []
    for item in columns.split(", "):
        expression, _, name = item.partition(" AS ")
        out.append(f"{table}.{expression} AS {prefix}{name or expression}")
    return ", ".join(out)


SESSION_AND_USER_SQL = (
    f"SELECT {_prefixed(SESSION_COLUMNS, 's', 's_')}, {USER_COLUMNS} "
    "FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id WHERE s.id = :id"
)
MEMBER_COLUMNS = (
    "m.organization_id, m.user_id::text AS user_id, m.role, m.create_time, m.update_time, "
    "m.version, "
    "coalesce(u.email, '') AS email, u.display_name"
)


def _user(row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        email_verified=row.email_verified,
        display_name=row.display_name,
        password_hash=row.password_hash,
        state=UserState(row.state),
        lock_expire_time=row.lock_expire_time,
        password_change_time=row.password_change_time,
        create_time=row.create_time,
        update_time=row.update_time,
        delete_time=row.delete_time,
        version=row.version,
        identity_providers=list(row.providers or []),
    )


def _session(row: Any) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        device_name=row.device_name,
        platform=row.platform,
        method=AuthMethod(row.method),
        identity_provider=row.identity_provider,
        client_address=row.client_address,
        user_agent=row.user_agent,
        scopes=row.scopes,
        create_time=row.create_time,
        last_use_time=row.last_use_time,
        idle_expire_time=row.idle_expire_time,
        absolute_expire_time=row.absolute_expire_time,
        revoke_time=row.revoke_time,
        revoke_reason=row.revoke_reason,
    )


def _pat(row: Any) -> PersonalAccessToken:
    return PersonalAccessToken(
        id=row.id,
        user_id=row.user_id,
        display_name=row.display_name,
        scopes=list(row.scopes),
        token_hint=row.token_hint,
        create_time=row.create_time,
        expire_time=row.expire_time,
        last_use_time=row.last_use_time,
        revoke_time=row.revoke_time,
    )


def _device(row: Any) -> DeviceAuthorization:
    return DeviceAuthorization(
        **{k: getattr(row, k) for k in DeviceAuthorization.__dataclass_fields__}
    )


def _org(row: Any) -> Organization:
    return Organization(**{k: getattr(row, k) for k in Organization.__dataclass_fields__})


def _member(row: Any) -> Member:
    return Member(
        organization_id=row.organization_id,
        user_id=row.user_id,
        role=Role(row.role),
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
        email=row.email,
        display_name=row.display_name,
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


class SqlAuthRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        # What this transaction wrote to users and sessions: the unit of work announces it on
        # commit so session caches forget it (every such write goes through a method below).
        self.changed_users: set[str] = set()
        self.changed_sessions: set[str] = set()

    async def _exec(
        self,
        sql: str,
        params: dict[str, Any] | None = None,
        *,
        on_unique: AlreadyExists | None = None,
        binds: Sequence[Any] = (),
    ) -> Any:
        statement = text(sql)
        if binds:
            statement = statement.bindparams(*binds)
        with translate_db_errors(on_unique=on_unique):
            return await self.conn.execute(statement, params or {})

    # -- users -----------------------------------------------------------------------------

    async def get_user(self, user_id: str, *, for_update: bool = False) -> User | None:
        if not _is_uuid(user_id):
            return None
        lock = " FOR UPDATE OF u" if for_update else ""
        row = (
            await self._exec(
                f"SELECT {USER_COLUMNS} FROM auth.users u WHERE u.id = :id{lock}", {"id": user_id}
            )
        ).first()
        return _user(row) if row else None

    async def get_users(self, user_ids: Sequence[str]) -> dict[str, User]:
        ids = [i for i in user_ids if _is_uuid(i)]
        if not ids:
            return {}
        rows = await self._exec(
            f"SELECT {USER_COLUMNS} FROM auth.users u WHERE u.id = ANY(CAST(:ids AS uuid[]))",
            {"ids": ids},
        )
        return {r.id: _user(r) for r in rows}

    async def find_user_by_email(self, email: str) -> User | None:
        row = (
            await self._exec(
                f"SELECT {USER_COLUMNS} FROM auth.users u WHERE lower(u.email) = lower(:email)",
                {"email": email},
            )
        ).first()
        return _user(row) if row else None

    async def insert_user(self, user: User) -> None:
        await self._exec(
            "INSERT INTO auth.users (id, email, email_verified, display_name, password_hash, "
            "state, "
            "create_time, update_time) VALUES (:id, :email, :verified, :display_name, :hash, "
            "'active', :now, :now)",
            {
                "id": user.id,
                "email": user.email,
                "verified": user.email_verified,
                "display_name": user.display_name,
                "hash": user.password_hash,
                "now": user.create_time,
            },
            on_unique=AlreadyExists(
                "EMAIL_ALREADY_REGISTERED",
                "email already registered",
                resource=ResourceRef("User", ""),
            ),
        )

    async def update_user(self, user_id: str, now: datetime, **fields: Any) -> None:
        self.changed_users.add(user_id)
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        await self._exec(
            f"UPDATE auth.users SET {sets}, update_time = :now, version = version + 1 WHERE id = "
            ":id",
            {**fields, "now": now, "id": user_id},
        )

    async def erase_user(self, user_id: str, now: datetime) -> None:
        self.changed_users.add(user_id)
        await self._exec(
            "UPDATE auth.users SET email = NULL, email_verified = false, display_name = '', "
            "password_hash = NULL, state = 'deleted', lock_expire_time = NULL, delete_time = :now, "
            "update_time = :now, version = version + 1 WHERE id = :id",
            {"id": user_id, "now": now},
        )
        for table in (
            "identities",
            "email_tokens",
            "device_authorizations",
            "user_code_attempts",
            "audit_events",
        ):
            await self._exec(f"DELETE FROM auth.{table} WHERE user_id = :id", {"id": user_id})
        await self._exec(
            "UPDATE auth.sessions SET device_name = '', platform = '', client_address = '', "
            "user_agent = '' "
            "WHERE user_id = :id",
            {"id": user_id},
        )

    # -- identities ------------------------------------------------------------------------

    async def find_identity(self, provider: str, subject: str) -> str | None:
        row = (
            await self._exec(
                "SELECT user_id::text FROM auth.identities WHERE provider = :p AND subject = :s",
                {"p": provider, "s": subject},
            )
        ).first()
        return row[0] if row else None

    async def insert_identity(
        self, provider: str, subject: str, user_id: str, email: str | None, now: datetime
    ) -> None:
        self.changed_users.add(user_id)  # the user's identity providers
        await self._exec(
            "INSERT INTO auth.identities (provider, subject, user_id, email, create_time) "
            "VALUES (:p, :s, :u, :e, :now) ON CONFLICT DO NOTHING",
            {"p": provider, "s": subject, "u": user_id, "e": email, "now": now},
        )

    # -- sessions and refresh tokens -------------------------------------------------------

    async def insert_session(self, s: Session) -> None:
        await self._exec(
            "INSERT INTO auth.sessions (id, user_id, device_name, platform, method, "
            "identity_provider, "
            "client_address, user_agent, scopes, create_time, last_use_time, idle_expire_time, "
            "absolute_expire_time) VALUES (:id, :user_id, :device_name, :platform, :method, "
            ":identity_provider, :client_address, :user_agent, :scopes, :create_time, "
            ":last_use_time, "
            ":idle_expire_time, :absolute_expire_time)",
            {
                **{
                    k: getattr(s, k)
                    for k in Session.__dataclass_fields__
                    if k not in ("revoke_time", "revoke_reason")
                },
                "method": int(s.method),
            },
        )

    async def get_session(self, session_id: str, *, for_update: bool = False) -> Session | None:
        if not _is_uuid(session_id):
            return None
        lock = " FOR UPDATE" if for_update else ""
        row = (
            await self._exec(
                f"SELECT {SESSION_COLUMNS} FROM auth.sessions WHERE id = :id{lock}",
                {"id": session_id},
            )
        ).first()
        return _session(row) if row else None

    async def get_session_and_user(self, session_id: str) -> tuple[Session | None, User | None]:
        """A session and its user in one round trip (every signed-in call needs both)."""
        if not _is_uuid(session_id):
            return None, None
        row = (await self._exec(SESSION_AND_USER_SQL, {"id": session_id})).first()
        if row is None:
            return None, None
        fields = {k[2:]: v for k, v in row._mapping.items() if k.startswith("s_")}
        return _session(SimpleNamespace(**fields)), _user(row)

    async def touch_session(
        self, session_id: str, now: datetime, idle_expire: datetime, address: str, agent: str
    ) -> None:
        self.changed_sessions.add(session_id)
        await self._exec(
            "UPDATE auth.sessions SET last_use_time = :now, idle_expire_time = least(:idle, "
            "absolute_expire_time), "
            "client_address = CASE WHEN :addr = '' THEN client_address ELSE :addr END, "
            "user_agent = CASE WHEN :agent = '' THEN user_agent ELSE :agent END WHERE id = :id",
            {"now": now, "idle": idle_expire, "addr": address, "agent": agent, "id": session_id},
        )

    async def revoke_session(self, session_id: str, now: datetime, reason: str) -> bool:
        self.changed_sessions.add(session_id)
        result = await self._exec(
            "UPDATE auth.sessions SET revoke_time = :now, revoke_reason = :reason "
            "WHERE id = :id AND revoke_time IS NULL",
            {"now": now, "reason": reason, "id": session_id},
        )
        return bool(result.rowcount)

    async def revoke_user_sessions(
        self, user_id: str, now: datetime, reason: str, *, except_session: str = ""
    ) -> int:
        self.changed_users.add(user_id)  # and with it every session of the user
        result = await self._exec(
            "UPDATE auth.sessions SET revoke_time = :now, revoke_reason = :reason WHERE user_id = "
            ":u "
            "AND revoke_time IS NULL AND id::text <> :keep",
            {"now": now, "reason": reason, "u": user_id, "keep": except_session},
        )
        return int(result.rowcount or 0)

    async def list_sessions(
        self, user_id: str, now: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[Session]:
        params: dict[str, Any] = {"u": user_id, "now": now, "limit": limit}
        cond = ""
        if after:
            cond = " AND (last_use_time, id::text) < (:t, :i)"
            params.update(t=after[0], i=after[1])
        rows = await self._exec(
            f"SELECT {SESSION_COLUMNS} FROM auth.sessions WHERE user_id = :u AND revoke_time IS "
            "NULL "
            f"AND idle_expire_time > :now AND absolute_expire_time > :now{cond} "
            "ORDER BY last_use_time DESC, id::text DESC LIMIT :limit",
            params,
        )
        return [_session(r) for r in rows]

    async def insert_refresh_token(
        self, token_hash: bytes, session_id: str, parent: bytes | None, now: datetime
    ) -> None:
        await self._exec(
            "INSERT INTO auth.refresh_tokens (token_hash, session_id, parent_hash, create_time) "
            "VALUES (:h, :s, :p, :now)",
            {"h": token_hash, "s": session_id, "p": parent, "now": now},
            binds=[bindparam("h", type_=BYTEA), bindparam("p", type_=BYTEA)],
        )

    async def consume_refresh_token(self, token_hash: bytes, now: datetime) -> str | None:
        """Atomically marks an unused token used; the session id when this call won."""
        row = (
            await self._exec(
                "UPDATE auth.refresh_tokens SET used_time = :now WHERE token_hash = :h AND "
                "used_time IS NULL "
                "RETURNING session_id::text",
                {"h": token_hash, "now": now},
                binds=[bindparam("h", type_=BYTEA)],
            )
        ).first()
        return row[0] if row else None

    async def get_refresh_token(self, token_hash: bytes) -> RefreshToken | None:
        row = (
            await self._exec(
                "SELECT token_hash, session_id::text AS session_id, parent_hash, create_time, "
                "used_time "
                "FROM auth.refresh_tokens WHERE token_hash = :h",
                {"h": token_hash},
                binds=[bindparam("h", type_=BYTEA)],
            )
        ).first()
        return (
            RefreshToken(
                bytes(row.token_hash),
                row.session_id,
                row.parent_hash and bytes(row.parent_hash),
                row.create_time,
                row.used_time,
            )
            if row
            else None
        )

    # -- personal access tokens ------------------------------------------------------------

    async def insert_pat(self, pat: PersonalAccessToken, token_hash: bytes) -> None:
        await self._exec(
            "INSERT INTO auth.personal_access_tokens (id, user_id, display_name, scopes, "
            "token_hash, "
            "token_hint, create_time, expire_time) VALUES (:id, :u, :d, :scopes, :h, :hint, :c, "
            ":e)",
            {
                "id": pat.id,
                "u": pat.user_id,
                "d": pat.display_name,
                "scopes": pat.scopes,
                "h": token_hash,
                "hint": pat.token_hint,
                "c": pat.create_time,
                "e": pat.expire_time,
            },
            binds=[bindparam("h", type_=BYTEA), bindparam("scopes", type_=ARRAY(Text))],
        )

    async def count_active_pats(self, user_id: str, now: datetime) -> int:
        row = (
            await self._exec(
                "SELECT count(*) FROM auth.personal_access_tokens WHERE user_id = :u AND "
                "revoke_time IS NULL "
                "AND expire_time > :now",
                {"u": user_id, "now": now},
            )
        ).first()
        return int(row[0])

    async def find_pat_by_hash(self, token_hash: bytes) -> PersonalAccessToken | None:
        row = (
            await self._exec(
                f"SELECT {PAT_COLUMNS} FROM auth.personal_access_tokens WHERE token_hash = :h",
                {"h": token_hash},
                binds=[bindparam("h", type_=BYTEA)],
            )
        ).first()
        return _pat(row) if row else None

    async def get_pat(self, user_id: str, token_id: str) -> PersonalAccessToken | None:
        if not _is_uuid(token_id):
            return None
        row = (
            await self._exec(
                f"SELECT {PAT_COLUMNS} FROM auth.personal_access_tokens WHERE id = :id AND user_id "
                "= :u",
                {"id": token_id, "u": user_id},
            )
        ).first()
        return _pat(row) if row else None

    async def list_pats(
        self, user_id: str, show_revoked: bool, after: tuple[datetime, str] | None, limit: int
    ) -> list[PersonalAccessToken]:
        params: dict[str, Any] = {"u": user_id, "limit": limit}
        cond = "" if show_revoked else " AND revoke_time IS NULL"
        if after:
            cond += " AND (create_time, id::text) < (:t, :i)"
            params.update(t=after[0], i=after[1])
        rows = await self._exec(
            f"SELECT {PAT_COLUMNS} FROM auth.personal_access_tokens WHERE user_id = :u{cond} "
            "ORDER BY create_time DESC, id::text DESC LIMIT :limit",
            params,
        )
        return [_pat(r) for r in rows]

    async def revoke_pat(self, token_id: str, now: datetime, reason: str) -> bool:
        result = await self._exec(
            "UPDATE auth.personal_access_tokens SET revoke_time = :now, revoke_reason = :r "
            "WHERE id = :id AND revoke_time IS NULL",
            {"now": now, "r": reason, "id": token_id},
        )
        return bool(result.rowcount)

    async def revoke_user_pats(self, user_id: str, now: datetime, reason: str) -> int:
        result = await self._exec(
            "UPDATE auth.personal_access_tokens SET revoke_time = :now, revoke_reason = :r "
            "WHERE user_id = :u AND revoke_time IS NULL",
            {"now": now, "r": reason, "u": user_id},
        )
        return int(result.rowcount or 0)

    async def touch_pat(self, token_id: str, now: datetime, older_than: datetime) -> None:
        await self._exec(
            "UPDATE auth.personal_access_tokens SET last_use_time = :now WHERE id = :id "
            "AND (last_use_time IS NULL OR last_use_time < :older)",
            {"now": now, "id": token_id, "older": older_than},
        )

    # -- device authorizations -------------------------------------------------------------

    async def insert_device(self, d: DeviceAuthorization, device_code_hash: bytes) -> None:
        await self._exec(
            "INSERT INTO auth.device_authorizations (id, device_code_hash, user_code, device_name, "
            "platform, "
            "client_address, scopes, state, poll_interval, create_time, expire_time) VALUES (:id, "
            ":h, :uc, "
            ":dn, :pf, :addr, :scopes, 'pending', :iv, :c, :e)",
            {
                "id": d.id,
                "h": device_code_hash,
                "uc": d.user_code,
                "dn": d.device_name,
                "pf": d.platform,
                "addr": d.client_address,
                "scopes": d.scopes,
                "iv": d.poll_interval,
                "c": d.create_time,
                "e": d.expire_time,
            },
            binds=[bindparam("h", type_=BYTEA)],
        )

    async def find_device_by_code(self, device_code_hash: bytes) -> DeviceAuthorization | None:
        row = (
            await self._exec(
                f"SELECT {DEVICE_COLUMNS} FROM auth.device_authorizations WHERE device_code_hash = "
                ":h FOR UPDATE",
                {"h": device_code_hash},
                binds=[bindparam("h", type_=BYTEA)],
            )
        ).first()
        return _device(row) if row else None

    async def find_pending_device_by_user_code(
        self, user_code: str, now: datetime
    ) -> DeviceAuthorization | None:
        row = (
            await self._exec(
                f"SELECT {DEVICE_COLUMNS} FROM auth.device_authorizations WHERE user_code = :uc "
                "AND expire_time > :now "
                "ORDER BY create_time DESC LIMIT 1 FOR UPDATE",
                {"uc": user_code, "now": now},
            )
        ).first()
        return _device(row) if row else None

    async def update_device(self, device_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        await self._exec(
            f"UPDATE auth.device_authorizations SET {sets} WHERE id = :id",
            {**fields, "id": device_id},
        )

    async def count_user_code_attempts(self, user_id: str, since: datetime) -> int:
        row = (
            await self._exec(
                "SELECT count(*) FROM auth.user_code_attempts WHERE user_id = :u AND create_time > "
                ":since",
                {"u": user_id, "since": since},
            )
        ).first()
        return int(row[0])

    async def add_user_code_attempt(self, user_id: str, now: datetime) -> None:
        await self._exec(
            "INSERT INTO auth.user_code_attempts (user_id, create_time) VALUES (:u, :now)",
            {"u": user_id, "now": now},
        )

    # -- external logins -------------------------------------------------------------------

    async def insert_external_login(
        self,
        state_hash: bytes,
        provider: str,
        redirect_uri: str,
        nonce: str,
        verifier: str,
        now: datetime,
        expire: datetime,
    ) -> None:
        await self._exec(
            "INSERT INTO auth.external_logins (state_hash, provider, redirect_uri, nonce, "
            "code_verifier, "
            "create_time, expire_time) VALUES (:h, :p, :r, :n, :v, :now, :e)",
            {
                "h": state_hash,
                "p": provider,
                "r": redirect_uri,
                "n": nonce,
                "v": verifier,
                "now": now,
                "e": expire,
            },
            binds=[bindparam("h", type_=BYTEA)],
        )

    async def get_external_login(self, state_hash: bytes) -> Any:
        return (
            await self._exec(
                "SELECT provider, redirect_uri, nonce, code_verifier, create_time, expire_time, "
                "used_time, "
                "session_id::text AS session_id FROM auth.external_logins WHERE state_hash = :h "
                "FOR UPDATE",
                {"h": state_hash},
                binds=[bindparam("h", type_=BYTEA)],
            )
        ).first()

    async def use_external_login(self, state_hash: bytes, now: datetime) -> None:
        await self._exec(
            "UPDATE auth.external_logins SET used_time = :now WHERE state_hash = :h",
            {"h": state_hash, "now": now},
            binds=[bindparam("h", type_=BYTEA)],
        )

    async def set_external_login_session(self, state_hash: bytes, session_id: str) -> None:
        await self._exec(
            "UPDATE auth.external_logins SET session_id = :s WHERE state_hash = :h",
            {"h": state_hash, "s": session_id},
            binds=[bindparam("h", type_=BYTEA)],
        )

    # -- email tokens and outbox -----------------------------------------------------------

    async def insert_email_token(
        self, token_hash: bytes, user_id: str, purpose: str, now: datetime, expire: datetime
    ) -> None:
        await self._exec(
            "INSERT INTO auth.email_tokens (token_hash, user_id, purpose, create_time, "
            "expire_time) "
            "VALUES (:h, :u, :p, :now, :e)",
            {"h": token_hash, "u": user_id, "p": purpose, "now": now, "e": expire},
            binds=[bindparam("h", type_=BYTEA)],
        )

    async def supersede_email_tokens(self, user_id: str, purpose: str, now: datetime) -> None:
        await self._exec(
            "UPDATE auth.email_tokens SET expire_time = least(expire_time, :now) WHERE user_id = "
            ":u "
            "AND purpose = :p AND used_time IS NULL",
            {"u": user_id, "p": purpose, "now": now},
        )

    async def get_email_token(self, token_hash: bytes, purpose: str) -> Any:
        return (
            await self._exec(
                "SELECT user_id::text AS user_id, expire_time, used_time FROM auth.email_tokens "
                "WHERE token_hash = :h AND purpose = :p FOR UPDATE",
                {"h": token_hash, "p": purpose},
                binds=[bindparam("h", type_=BYTEA)],
            )
        ).first()

    async def use_email_token(self, token_hash: bytes, now: datetime) -> None:
        await self._exec(
            "UPDATE auth.email_tokens SET used_time = :now WHERE token_hash = :h",
            {"h": token_hash, "now": now},
            binds=[bindparam("h", type_=BYTEA)],
        )

    async def enqueue_email(self, recipient: str, subject: str, body: str) -> None:
        await self._exec(
            "INSERT INTO auth.email_outbox (recipient, subject, body) VALUES (:r, :s, :b)",
            {"r": recipient, "s": subject, "b": body},
        )

    async def drop_pending_emails(self, recipient: str) -> None:
        await self._exec(
            "DELETE FROM auth.email_outbox WHERE recipient = :r AND sent_time IS NULL",
            {"r": recipient},
        )

    async def claim_emails(self, now: datetime, limit: int) -> list[Any]:
        return list(
            await self._exec(
                "SELECT id, recipient, subject, body, attempts FROM auth.email_outbox WHERE "
                "sent_time IS NULL "
                "AND next_attempt_time <= :now ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED",
                {"now": now, "limit": limit},
            )
        )

    async def mark_email(
        self, email_id: int, now: datetime, *, sent: bool, retry_at: datetime, error: str = ""
    ) -> None:
        if sent:
            await self._exec(
                "UPDATE auth.email_outbox SET sent_time = :now, attempts = attempts + 1 WHERE id = "
                ":id",
                {"now": now, "id": email_id},
            )
        else:
            await self._exec(
                "UPDATE auth.email_outbox SET attempts = attempts + 1, next_attempt_time = :t, "
                "last_error = :e "
                "WHERE id = :id",
                {"t": retry_at, "e": error[:500], "id": email_id},
            )

    async def enqueue_peer_deletion(self, peer: str, user_id: str, request_id: str) -> None:
        await self._exec(
            "INSERT INTO auth.peer_outbox (peer, user_id, request_id) VALUES (:p, :u, :r)",
            {"p": peer, "u": user_id, "r": request_id},
        )

    async def claim_peer_deletions(self, now: datetime, limit: int) -> list[Any]:
        return list(
            await self._exec(
                "SELECT id, peer, user_id::text AS user_id, request_id::text AS request_id, "
                "attempts FROM auth.peer_outbox "
                "WHERE done_time IS NULL AND next_attempt_time <= :now ORDER BY id LIMIT :limit "
                "FOR UPDATE SKIP LOCKED",
                {"now": now, "limit": limit},
            )
        )

    async def mark_peer_deletion(
        self, item_id: int, now: datetime, *, done: bool, retry_at: datetime, error: str = ""
    ) -> None:
        if done:
            await self._exec(
                "UPDATE auth.peer_outbox SET done_time = :now, attempts = attempts + 1 WHERE id = "
                ":id",
                {"now": now, "id": item_id},
            )
        else:
            await self._exec(
                "UPDATE auth.peer_outbox SET attempts = attempts + 1, next_attempt_time = :t, "
                "last_error = :e "
                "WHERE id = :id",
                {"t": retry_at, "e": error[:500], "id": item_id},
            )

    # -- organizations ---------------------------------------------------------------------

    async def insert_organization(self, org: Organization) -> None:
        await self._exec(
            "INSERT INTO auth.organizations (id, uid, display_name, description, create_time, "
            "update_time) "
            "VALUES (:id, :uid, :d, :desc, :c, :c)",
            {
                "id": org.id,
                "uid": org.uid,
                "d": org.display_name,
                "desc": org.description,
                "c": org.create_time,
            },
            on_unique=AlreadyExists(
                "ORGANIZATION_ALREADY_EXISTS",
                f"organization {org.id!r} already exists",
                resource=ResourceRef("Organization", f"organizations/{org.id}"),
            ),
        )

    async def get_organization(
        self, org_id: str, *, for_update: bool = False
    ) -> Organization | None:
        lock = " FOR UPDATE" if for_update else ""
        row = (
            await self._exec(
                f"SELECT {ORG_COLUMNS} FROM auth.organizations WHERE id = :id{lock}", {"id": org_id}
            )
        ).first()
        return _org(row) if row else None

    async def get_organizations(self, org_ids: Sequence[str]) -> dict[str, Organization]:
        rows = await self._exec(
            f"SELECT {ORG_COLUMNS} FROM auth.organizations WHERE id = ANY(:ids)",
            {"ids": list(org_ids)},
            binds=[bindparam("ids", type_=ARRAY(Text))],
        )
        return {r.id: _org(r) for r in rows}

    async def update_organization(self, org_id: str, now: datetime, **fields: Any) -> None:
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        await self._exec(
            f"UPDATE auth.organizations SET {sets}, update_time = :now, version = version + 1 "
            "WHERE id = :id",
            {**fields, "now": now, "id": org_id},
        )

    async def delete_organization(self, org_id: str) -> None:
        await self._exec("DELETE FROM auth.organizations WHERE id = :id", {"id": org_id})

    async def count_owned_organizations(self, user_id: str) -> int:
        row = (
            await self._exec(
                "SELECT count(*) FROM auth.organization_members WHERE user_id = :u", {"u": user_id}
            )
        ).first()
        return int(row[0])

    async def list_user_organizations(
        self, user_id: str, after: str | None, limit: int
    ) -> list[tuple[Organization, Role]]:
        if not _is_uuid(user_id):
            return []
        rows = await self._exec(
            f"SELECT {', '.join('o.' + c for c in ORG_COLUMNS.split(', '))}, m.role FROM "
            "auth.organizations o "
            "JOIN auth.organization_members m ON m.organization_id = o.id WHERE m.user_id = :u "
            "AND o.id > :after ORDER BY o.id LIMIT :limit",
            {"u": user_id, "after": after or "", "limit": limit},
        )
        return [(_org(r), Role(r.role)) for r in rows]

    async def get_member(
        self, org_id: str, user_id: str, *, for_update: bool = False
    ) -> Member | None:
        if not _is_uuid(user_id):
            return None
        lock = " FOR UPDATE OF m" if for_update else ""
        row = (
            await self._exec(
                f"SELECT {MEMBER_COLUMNS} FROM auth.organization_members m JOIN auth.users u ON "
                "u.id = m.user_id "
                f"WHERE m.organization_id = :o AND m.user_id = :u{lock}",
                {"o": org_id, "u": user_id},
            )
        ).first()
        return _member(row) if row else None

    async def list_members(
        self, org_id: str, after: tuple[int, str] | None, limit: int
    ) -> list[Member]:
        params: dict[str, Any] = {"o": org_id, "limit": limit}
        cond = ""
        if after:
            cond = " AND (m.role, m.user_id::text) > (:r, :i)"
            params.update(r=after[0], i=after[1])
        rows = await self._exec(
            f"SELECT {MEMBER_COLUMNS} FROM auth.organization_members m JOIN auth.users u ON u.id = "
            "m.user_id "
            f"WHERE m.organization_id = :o{cond} ORDER BY m.role, m.user_id::text LIMIT :limit",
            params,
        )
        return [_member(r) for r in rows]

    async def insert_member(self, org_id: str, user_id: str, role: Role, now: datetime) -> None:
        await self._exec(
            "INSERT INTO auth.organization_members (organization_id, user_id, role, create_time, "
            "update_time) "
            "VALUES (:o, :u, :r, :now, :now)",
            {"o": org_id, "u": user_id, "r": int(role), "now": now},
            on_unique=AlreadyExists(
                "MEMBER_ALREADY_EXISTS",
                "the user is already a member",
                resource=ResourceRef(
                    "OrganizationMember", f"organizations/{org_id}/members/{user_id}"
                ),
            ),
        )

    async def update_member_role(
        self, org_id: str, user_id: str, role: Role, now: datetime
    ) -> None:
        await self._exec(
            "UPDATE auth.organization_members SET role = :r, update_time = :now, version = version "
            "+ 1 "
            "WHERE organization_id = :o AND user_id = :u",
            {"r": int(role), "now": now, "o": org_id, "u": user_id},
        )

    async def delete_member(self, org_id: str, user_id: str) -> None:
        await self._exec(
            "DELETE FROM auth.organization_members WHERE organization_id = :o AND user_id = :u",
            {"o": org_id, "u": user_id},
        )

    async def count_owners(self, org_id: str, *, lock: bool = False) -> int:
        if lock:  # serialise owner changes of one organization
            await self._exec(
                "SELECT 1 FROM auth.organizations WHERE id = :o FOR UPDATE", {"o": org_id}
            )
        row = (
            await self._exec(
                "SELECT count(*) FROM auth.organization_members WHERE organization_id = :o AND "
                "role = 1",
                {"o": org_id},
            )
        ).first()
        return int(row[0])

    async def count_members(self, org_id: str) -> int:
        row = (
            await self._exec(
                "SELECT count(*) FROM auth.organization_members WHERE organization_id = :o",
                {"o": org_id},
            )
        ).first()
        return int(row[0])

    async def memberships_of(self, user_id: str) -> list[tuple[str, Role]]:
        rows = await self._exec(
            "SELECT organization_id, role FROM auth.organization_members WHERE user_id = :u",
            {"u": user_id},
        )
        return [(r[0], Role(r[1])) for r in rows]

    # -- audit -----------------------------------------------------------------------------

    async def insert_audit(self, e: AuditEvent) -> None:
        await self._exec(
            "INSERT INTO auth.audit_events (id, user_id, type, actor, resource, session, "
            "client_address, "
            "user_agent, attributes, create_time) VALUES (:id, :u, :t, :actor, :res, :sess, :addr, "
            ":ua, :attrs, :c)",
            {
                "id": e.id,
                "u": e.user_id,
                "t": int(e.type),
                "actor": e.actor,
                "res": e.resource,
                "sess": e.session,
                "addr": e.client_address,
                "ua": e.user_agent,
                "attrs": e.attributes,
                "c": e.create_time,
            },
            binds=[bindparam("attrs", type_=JSONB)],
        )

    async def list_audit(
        self, user_id: str, types: Sequence[int], after: tuple[datetime, str] | None, limit: int
    ) -> list[AuditEvent]:
        params: dict[str, Any] = {"u": user_id, "limit": limit}
        cond = ""
        if types:
            cond += " AND type = ANY(:types)"
            params["types"] = list(types)
        if after:
            cond += " AND (create_time, id::text) < (:t, :i)"
            params.update(t=after[0], i=after[1])
        rows = await self._exec(
            "SELECT id::text AS id, user_id::text AS user_id, type, actor, resource, session, "
            "client_address, "
            f"user_agent, attributes, create_time FROM auth.audit_events WHERE user_id = :u{cond} "
            "ORDER BY create_time DESC, id::text DESC LIMIT :limit",
            params,
        )
        return [
            AuditEvent(
                r.id,
                r.user_id,
                AuditType(r.type),
                r.actor,
                r.resource,
                r.session,
                r.client_address,
                r.user_agent,
                dict(r.attributes or {}),
                r.create_time,
            )
            for r in rows
        ]

    # -- signing keys ----------------------------------------------------------------------

    async def lock_keys(self) -> None:
        await self._exec("SELECT pg_advisory_xact_lock(hashtext('symphony-auth-signing-keys'))")

    async def list_signing_keys(self) -> list[tuple[Any, ...]]:
        rows = await self._exec(
            "SELECT kid, private_key, public_key, create_time, activate_time, retire_time, "
            "delete_time "
            "FROM auth.signing_keys ORDER BY activate_time, kid"
        )
        return [tuple(r) for r in rows]

    async def insert_signing_key(
        self, kid: str, private: str, public: str, create: datetime, activate: datetime
    ) -> None:
        await self._exec(
            "INSERT INTO auth.signing_keys (kid, private_key, public_key, create_time, "
            "activate_time) "
            "VALUES (:k, :priv, :pub, :c, :a)",
            {"k": kid, "priv": private, "pub": public, "c": create, "a": activate},
        )

    async def retire_signing_key(self, kid: str, when: datetime) -> None:
        await self._exec(
            "UPDATE auth.signing_keys SET retire_time = :t WHERE kid = :k AND retire_time IS NULL",
            {"t": when, "k": kid},
        )

    async def delete_signing_key(self, kid: str) -> None:
        await self._exec("DELETE FROM auth.signing_keys WHERE kid = :k", {"k": kid})

    # -- idempotency -----------------------------------------------------------------------

    async def get_idempotent(
        self, caller: str, method: str, request_id: str, since: datetime
    ) -> tuple[str, bytes] | None:
        row = (
            await self._exec(
                "SELECT fingerprint, response FROM auth.idempotency_keys WHERE caller = :c AND "
                "method = :m "
                "AND request_id = :r AND create_time > :since",
                {"c": caller, "m": method, "r": request_id, "since": since},
            )
        ).first()
        return (row[0], bytes(row[1])) if row else None

    async def put_idempotent(
        self,
        caller: str,
        method: str,
        request_id: str,
        fingerprint: str,
        response: bytes,
        now: datetime,
    ) -> None:
        await self._exec(
            "INSERT INTO auth.idempotency_keys (caller, method, request_id, fingerprint, response, "
            "create_time) "
            "VALUES (:c, :m, :r, :f, :resp, :now) ON CONFLICT (caller, method, request_id) DO "
            "UPDATE SET "
            "fingerprint = excluded.fingerprint, response = excluded.response, create_time = "
            "excluded.create_time",
            {
                "c": caller,
                "m": method,
                "r": request_id,
                "f": fingerprint,
                "resp": response,
                "now": now,
            },
            binds=[bindparam("resp", type_=BYTEA)],
        )


def dumps(value: dict[str, str]) -> str:
    return json.dumps(value)
