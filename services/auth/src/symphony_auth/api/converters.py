"""Domain records ⇄ protobuf messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import duration_pb2, timestamp_pb2

from symphony.auth.v1 import auth_internal_service_pb2 as ipb
from symphony.auth.v1 import resources_pb2 as rpb
from symphony_auth.domain import models
from symphony_auth.domain.secrets import display_user_code
from symphony_common.grpc.convert import proto_enum

USER_STATES = {
    models.UserState.ACTIVE: rpb.USER_STATE_ACTIVE,
    models.UserState.DISABLED: rpb.USER_STATE_DISABLED,
    models.UserState.LOCKED: rpb.USER_STATE_LOCKED,
    models.UserState.DELETED: rpb.USER_STATE_DELETED,
}
DEVICE_STATES = {
    "pending": rpb.DEVICE_AUTHORIZATION_STATE_PENDING,
    "approved": rpb.DEVICE_AUTHORIZATION_STATE_APPROVED,
    "denied": rpb.DEVICE_AUTHORIZATION_STATE_DENIED,
    "redeemed": rpb.DEVICE_AUTHORIZATION_STATE_REDEEMED,
}


def ts(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def to_datetime(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=__import__("datetime").UTC)


def user(u: models.User, now: datetime) -> rpb.User:
    state = u.effective_state(now)
    msg = rpb.User(
        name=f"users/{u.id}",
        uid=u.id,
        state=USER_STATES[state],
        create_time=ts(u.create_time),
        update_time=ts(u.update_time),
        etag=u.etag,
    )
    if state is models.UserState.DELETED:
        msg.delete_time.CopyFrom(ts(u.delete_time) or timestamp_pb2.Timestamp())
        return msg  # a tombstone: no personal data
    msg.email = u.email or ""
    msg.email_verified = u.email_verified
    msg.display_name = u.display_name
    msg.has_password = bool(u.password_hash)
    msg.identity_providers.extend(u.identity_providers)
    msg.administrator = u.administrator
    if state is models.UserState.LOCKED and u.lock_expire_time:
        msg.lock_expire_time.FromDatetime(u.lock_expire_time)
    return msg


def session(s: models.Session, current_id: str) -> rpb.Session:
    return rpb.Session(
        name=f"users/{s.user_id}/sessions/{s.id}",
        uid=s.id,
        device_name=s.device_name,
        platform=s.platform,
        authentication_method=proto_enum(rpb.AuthenticationMethod, s.method),
        identity_provider=s.identity_provider,
        client_address=s.client_address,
        user_agent=s.user_agent,
        current=s.id == current_id,
        create_time=ts(s.create_time),
        last_use_time=ts(s.last_use_time),
        expire_time=ts(s.expire_time),
    )


def token_pair(p: models.TokenPair) -> rpb.TokenPair:
    return rpb.TokenPair(
        access_token=p.access_token,
        refresh_token=p.refresh_token,
        expires_in=p.expires_in,
        token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret
    )


def pat(p: models.PersonalAccessToken, now: datetime) -> rpb.PersonalAccessToken:
    if p.revoke_time is not None:
        state = rpb.PERSONAL_ACCESS_TOKEN_STATE_REVOKED
    elif p.expire_time <= now:
        state = rpb.PERSONAL_ACCESS_TOKEN_STATE_EXPIRED
    else:
        state = rpb.PERSONAL_ACCESS_TOKEN_STATE_ACTIVE
    return rpb.PersonalAccessToken(
        name=f"users/{p.user_id}/tokens/{p.id}",
        uid=p.id,
        display_name=p.display_name,
        scopes=p.scopes,
        token=p.token,
        token_hint=p.token_hint,
        expire_time=ts(p.expire_time),
        state=state,
        last_use_time=ts(p.last_use_time),
        create_time=ts(p.create_time),
        revoke_time=ts(p.revoke_time),
    )


def device(d: models.DeviceAuthorization, now: datetime) -> rpb.DeviceAuthorization:
    state = DEVICE_STATES[d.state]
    if d.state in ("pending", "approved") and d.expire_time <= now:
        state = rpb.DEVICE_AUTHORIZATION_STATE_EXPIRED
    return rpb.DeviceAuthorization(
        name=f"deviceAuthorizations/{d.id}",
        uid=d.id,
        user_code=display_user_code(d.user_code),
        device_name=d.device_name,
        platform=d.platform,
        client_address=d.client_address,
        scopes=d.scopes.split(),
        state=state,
        user=f"users/{d.user_id}" if d.user_id else "",
        create_time=ts(d.create_time),
        expire_time=ts(d.expire_time),
    )


def organization(o: models.Organization) -> rpb.Organization:
    return rpb.Organization(
        name=f"organizations/{o.id}",
        uid=o.uid,
        display_name=o.display_name,
        description=o.description,
        create_time=ts(o.create_time),
        update_time=ts(o.update_time),
        etag=o.etag,
    )


def member(m: models.Member) -> rpb.OrganizationMember:
    return rpb.OrganizationMember(
        name=f"organizations/{m.organization_id}/members/{m.user_id}",
        user=f"users/{m.user_id}",
        email=m.email,
        display_name=m.display_name,
        role=proto_enum(rpb.OrganizationRole, m.role),
        create_time=ts(m.create_time),
        update_time=ts(m.update_time),
        etag=m.etag,
    )


def audit_event(e: models.AuditEvent) -> rpb.AuditEvent:
    return rpb.AuditEvent(
        name=f"users/{e.user_id}/auditEvents/{e.id}",
        uid=e.id,
        type=proto_enum(rpb.AuditEventType, e.type),
        actor=e.actor,
        resource=e.resource,
        session=e.session,
        client_address=e.client_address,
        user_agent=e.user_agent,
        attributes=e.attributes,
        create_time=ts(e.create_time),
    )


def introspection(i: models.Introspection) -> ipb.IntrospectTokenResponse:
    ttl = duration_pb2.Duration()
    ttl.FromMilliseconds(int(i.cache_ttl_seconds * 1000))
    msg = ipb.IntrospectTokenResponse(
        active=i.active,
        inactive_reason=proto_enum(ipb.InactiveReason, i.inactive_reason),
        kind=proto_enum(rpb.TokenKind, i.kind),
        cache_ttl=ttl,
    )
    if i.active:
        msg.user = f"users/{i.user_id}"
        msg.scopes.extend(i.scopes)
        msg.session = i.session_id
        msg.personal_access_token = i.token_id
        msg.audiences.extend(i.audiences)
        if i.issue_time:
            msg.issue_time.FromDatetime(i.issue_time)
        if i.expire_time:
            msg.expire_time.FromDatetime(i.expire_time)
    return msg
