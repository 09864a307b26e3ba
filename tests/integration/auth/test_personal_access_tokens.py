"""AU-13: personal access tokens; IntrospectToken."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import duration_pb2

from symphony.auth.v1 import auth_internal_service_pb2 as ipb
from symphony.auth.v1 import auth_service_pb2 as pb
from symphony.auth.v1 import resources_pb2 as rpb
from symphony_auth.domain.secrets import pat_well_formed
from tests.integration.auth.support import AuthHarness, expect_error


async def create(auth: AuthHarness, account, scopes=("registry.publish:acme",), **kw):  # type: ignore[no-untyped-def]
    return await auth.stub.CreatePersonalAccessToken(
        pb.CreatePersonalAccessTokenRequest(
            personal_access_token=rpb.PersonalAccessToken(
                display_name="CI", scopes=list(scopes), **kw
            )
        ),
        metadata=account.bearer(),
    )


async def database_dump(auth: AuthHarness) -> str:
    """Every row of every auth table as text (bytea as hex, as pg_dump writes it)."""
    tables = await auth.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'auth'")
    lines = []
    for (table,) in tables:
        lines += [
            r[0]
            for r in await auth.sql(
                f'SELECT row_to_json(t)::text FROM auth."{table}" t'  # noqa: S608 - names from pg_tables
            )
        ]
    return "\n".join(lines)


async def introspect(auth: AuthHarness, token: str) -> ipb.IntrospectTokenResponse:
    return await auth.internal.IntrospectToken(
        ipb.IntrospectTokenRequest(token=token), metadata=auth.service_md()
    )


async def test_au13_format_scope_expiry_and_revocation(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    pat = await create(auth, account)
    assert re.fullmatch(r"symp_[0-9A-Za-z]{22}[0-9A-Za-z]{6}", pat.token) and pat_well_formed(
        pat.token
    )
    assert pat.token_hint == pat.token[:9]
    now = datetime.now(UTC)
    assert timedelta(days=89) < pat.expire_time.ToDatetime(UTC) - now <= timedelta(days=90)
    answer = await introspect(auth, pat.token)
    assert answer.active and answer.user == f"users/{account.user_id}"
    assert list(answer.scopes) == ["registry.publish:acme"]
    assert 0 < answer.cache_ttl.ToTimedelta().total_seconds() <= 5
    # The value is never readable again.
    listed = await auth.stub.ListPersonalAccessTokens(
        pb.ListPersonalAccessTokensRequest(), metadata=account.bearer()
    )
    assert [p.token for p in listed.personal_access_tokens] == [""]
    # A PAT cannot manage the account.
    await expect_error(
        auth.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer(pat.token)),
        grpc.StatusCode.PERMISSION_DENIED,
        "SESSION_TOKEN_REQUIRED",
    )
    # The database holds no plaintext token (pg_dump grep).
    dump = await database_dump(auth)
    assert len(dump) > 1000
    assert (
        pat.token not in dump and pat.token[5:] not in dump and pat.token.encode().hex() not in dump
    )
    assert account.refresh not in dump
    # Revoked: refused on the next introspection.
    await auth.stub.DeletePersonalAccessToken(
        pb.DeletePersonalAccessTokenRequest(token_id=pat.uid), metadata=account.bearer()
    )
    answer = await introspect(auth, pat.token)
    assert not answer.active and answer.inactive_reason == ipb.INACTIVE_REASON_REVOKED


async def test_au13_invalid_scopes_and_expiry(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    await expect_error(
        create(auth, account, scopes=("admin",)), grpc.StatusCode.INVALID_ARGUMENT, "SCOPE_INVALID"
    )
    await expect_error(
        create(auth, account, scopes=()), grpc.StatusCode.INVALID_ARGUMENT, "SCOPE_INVALID"
    )
    await expect_error(
        create(auth, account, ttl=duration_pb2.Duration(seconds=400 * 86400)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "EXPIRE_TIME_INVALID",
    )
    short = await create(
        auth, account, scopes=("sync.read",), ttl=duration_pb2.Duration(seconds=3600)
    )
    auth.clock.offset += timedelta(hours=2)
    answer = await introspect(auth, short.token)
    assert not answer.active and answer.inactive_reason == ipb.INACTIVE_REASON_EXPIRED


@pytest.mark.parametrize(
    "token", ["symp_notatoken", "symp_" + "a" * 28, "eyJ.garbage.x", "symr_" + "b" * 43]
)
async def test_introspect_unknown_tokens_is_not_an_error(auth: AuthHarness, token: str) -> None:
    answer = await introspect(auth, token)
    assert not answer.active and answer.inactive_reason in (
        ipb.INACTIVE_REASON_UNKNOWN,
        ipb.INACTIVE_REASON_WRONG_KIND,
    )


async def test_introspect_requires_the_service_credential(auth: AuthHarness) -> None:
    await expect_error(
        auth.internal.IntrospectToken(ipb.IntrospectTokenRequest(token="x")),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    await expect_error(
        introspect(auth, "x" * 9000), grpc.StatusCode.INVALID_ARGUMENT, "TOKEN_TOO_LONG"
    )


async def test_leaked_token_is_revoked_and_owner_told(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    pat = await create(auth, account)
    request = ipb.RevokeLeakedTokenRequest(
        token=pat.token, location="namespaces/acme/extensions/x:package.json", reporter="registry"
    )
    first = await auth.internal.RevokeLeakedToken(request, metadata=auth.service_md())
    assert first.outcome == ipb.RevokeLeakedTokenResponse.OUTCOME_REVOKED
    again = await auth.internal.RevokeLeakedToken(request, metadata=auth.service_md())
    assert again.outcome == ipb.RevokeLeakedTokenResponse.OUTCOME_ALREADY_INACTIVE
    events = await auth.stub.ListAuditEvents(
        pb.ListAuditEventsRequest(types=[18]), metadata=account.bearer()
    )
    assert events.audit_events[0].attributes["location"].startswith("namespaces/acme")
    leaked_session = await auth.internal.RevokeLeakedToken(
        ipb.RevokeLeakedTokenRequest(token=account.refresh, location="gist"),
        metadata=auth.service_md(),
    )
    assert leaked_session.kind == rpb.TOKEN_KIND_REFRESH_TOKEN
    await expect_error(
        auth.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer()),
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REVOKED",
    )
