"""Issue 3 as a new user lives it, through the gateway (HTTP) and the `symphony` CLI, against
every service as a real process: register and verify the email, sign in, the profile, refresh
rotation and reuse, sessions, personal access tokens, organizations, the audit log, JWKS, and
the editor's device login with `symphony login` / `whoami` / `logout`."""

from __future__ import annotations

import base64
import json
import time

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from symphony_common.devstack import RunningStack
from tests.e2e.conftest import (
    PASSWORD,
    Cli,
    WebUser,
    link_token,
    login,
    poll,
    register,
    unique_email,
    wait_for_email,
)


def _b64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _error(response: httpx.Response) -> dict:
    return response.json()["error"]


def _reason(response: httpx.Response) -> str:
    for detail in _error(response).get("details", []):
        if detail.get("@type", "").endswith("google.rpc.ErrorInfo"):
            return str(detail["reason"])
    return ""


def test_register_verify_email_sign_in_and_profile(web: httpx.Client, stack: RunningStack) -> None:
    email = unique_email("ada")
    created = web.post(
        "/v1/users",
        json={"user": {"email": email, "displayName": "Ada"}, "password": PASSWORD},
    )
    assert created.status_code == 200, created.text
    assert created.json() == {"email": email}

    # A new account can sign in before the email is verified; the profile says it is not.
    user = WebUser(email, PASSWORD, "Ada")
    pair = login(web, user, device="Firefox on Linux", platform="web")
    assert set(pair) == {"accessToken", "refreshToken", "expiresIn", "tokenType"}, pair
    assert pair["tokenType"] == "Bearer"
    assert 0 < pair["expiresIn"] <= 900
    me = web.get("/v1/users/me", headers=user.auth)
    assert me.status_code == 200, me.text
    profile = me.json()
    assert profile["email"] == email and profile["displayName"] == "Ada"
    assert profile["emailVerified"] is False
    assert profile["state"] == "USER_STATE_ACTIVE"
    assert profile["name"] == f"users/{profile['uid']}"

    # The verification email (the log sender in development) carries a link with a token.
    mail = wait_for_email(stack, email, "verify")
    assert "Ada" in mail["body"]
    verified = web.post("/v1/users:verifyEmail", json={"token": link_token(mail["body"])})
    assert verified.status_code == 200, verified.text
    assert web.get("/v1/users/me", headers=user.auth).json()["emailVerified"] is True
    # Following the link again does no harm.
    again = web.post("/v1/users:verifyEmail", json={"token": link_token(mail["body"])})
    if again.status_code == 200:
        assert again.json()["emailVerified"] is True
    else:
        assert again.status_code in (400, 404, 409), again.text

    # Profile update.
    renamed = web.patch("/v1/users/me", headers=user.auth, json={"displayName": "Ada L."})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["displayName"] == "Ada L."
    assert web.get("/v1/users/me", headers=user.auth).json()["displayName"] == "Ada L."

    # A wrong password and an unknown email get the same answer.
    wrong = web.post("/v1/auth:login", json={"email": email, "password": "not my password!"})
    unknown = web.post(
        "/v1/auth:login", json={"email": unique_email("nobody"), "password": "not my password!"}
    )
    assert wrong.status_code == unknown.status_code == 401, (wrong.text, unknown.text)
    assert _error(wrong)["message"] == _error(unknown)["message"]
    assert _reason(wrong) == _reason(unknown)

    # Registering the same email again answers the same (no account enumeration).
    twice = web.post(
        "/v1/users", json={"user": {"email": email, "displayName": "X"}, "password": PASSWORD}
    )
    assert twice.status_code == 200 and twice.json() == {"email": email}, twice.text

    # No token: 401 with a Bearer challenge.
    anonymous = web.get("/v1/users/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].lower().startswith("bearer")


def test_refresh_rotates_and_a_reused_token_ends_the_session(
    web: httpx.Client, stack: RunningStack
) -> None:
    user = register(web, stack, "refresh")
    first_refresh = user.refresh

    rotated = web.post("/v1/auth:refresh", json={"refreshToken": first_refresh})
    assert rotated.status_code == 200, rotated.text
    pair = rotated.json()
    assert set(pair) == {"accessToken", "refreshToken", "expiresIn", "tokenType"}
    assert pair["tokenType"] == "Bearer"
    assert pair["refreshToken"] != first_refresh
    assert (
        web.get(
            "/v1/users/me", headers={"authorization": f"Bearer {pair['accessToken']}"}
        ).status_code
        == 200
    )

    # A retry of the same token within the grace window (a lost answer) gets the same successor.
    retried = web.post("/v1/auth:refresh", json={"refreshToken": first_refresh})
    assert retried.status_code == 200, retried.text
    assert retried.json()["refreshToken"] == pair["refreshToken"]

    # After the grace window (default 5 s), presenting the rotated token again is a theft signal:
    # 401, and the whole session ends.
    time.sleep(6)
    reused = web.post("/v1/auth:refresh", json={"refreshToken": first_refresh})
    assert reused.status_code == 401, reused.text
    assert reused.headers["www-authenticate"].lower().startswith("bearer")
    assert _reason(reused) == "INVALID_GRANT"
    successor = web.post("/v1/auth:refresh", json={"refreshToken": pair["refreshToken"]})
    assert successor.status_code == 401, successor.text
    ended = web.get("/v1/users/me", headers={"authorization": f"Bearer {pair['accessToken']}"})
    assert ended.status_code == 401, ended.text

    # The user sees why in the audit log (with a fresh sign-in).
    login(web, user)
    events = web.get("/v1/users/me/auditEvents", headers=user.auth, params={"pageSize": 50})
    assert events.status_code == 200, events.text
    types = [e["type"] for e in events.json()["auditEvents"]]
    assert "AUDIT_EVENT_TYPE_REFRESH_TOKEN_REUSED" in types, types


def test_sessions_are_listed_and_one_can_be_revoked(web: httpx.Client, stack: RunningStack) -> None:
    user = register(web, stack, "sessions")
    laptop = WebUser(user.email, user.password, user.display_name)
    login(web, laptop, device="Work laptop", platform="linux")

    listed = web.get("/v1/users/me/sessions", headers=user.auth)
    assert listed.status_code == 200, listed.text
    sessions = listed.json()["sessions"]
    by_device = {s["deviceName"]: s for s in sessions}
    assert {"browser", "Work laptop"} <= set(by_device), sessions
    assert by_device["browser"]["current"] is True
    assert by_device["Work laptop"]["current"] is False
    assert by_device["Work laptop"]["platform"] == "linux"
    for s in sessions:
        assert s["createTime"] and s["lastUseTime"] and s["expireTime"], s

    revoked = web.delete(
        f"/v1/users/me/sessions/{by_device['Work laptop']['uid']}", headers=user.auth
    )
    assert revoked.status_code == 200, revoked.text
    # The laptop is signed out: its refresh token and (at auth) its access token stop working.
    assert web.post("/v1/auth:refresh", json={"refreshToken": laptop.refresh}).status_code == 401
    assert web.get("/v1/users/me", headers=laptop.auth).status_code == 401
    remaining = web.get("/v1/users/me/sessions", headers=user.auth).json()["sessions"]
    assert [s["deviceName"] for s in remaining] == ["browser"], remaining

    # Logging out ends the browser session as well.
    out = web.post("/v1/auth:logout", headers=user.auth, json={"refreshToken": user.refresh})
    assert out.status_code == 200, out.text
    assert web.post("/v1/auth:refresh", json={"refreshToken": user.refresh}).status_code == 401


def test_personal_access_tokens_create_use_list_delete(
    web: httpx.Client, stack: RunningStack
) -> None:
    user = register(web, stack, "pat")
    created = web.post(
        "/v1/users/me/tokens",
        headers=user.auth,
        json={"personalAccessToken": {"displayName": "CI sync reader", "scopes": ["sync.read"]}},
    )
    assert created.status_code == 200, created.text
    pat = created.json()
    token = pat["token"]
    assert token.startswith("symp_") and len(token) >= 30, pat
    assert pat["scopes"] == ["sync.read"]
    assert pat["state"] == "PERSONAL_ACCESS_TOKEN_STATE_ACTIVE"
    assert pat["expireTime"] > pat["createTime"]

    # Shown once: the list has only a hint.
    listed = web.get("/v1/users/me/tokens", headers=user.auth)
    assert listed.status_code == 200, listed.text
    (entry,) = [t for t in listed.json()["personalAccessTokens"] if t["uid"] == pat["uid"]]
    assert entry["token"] == "" and token.startswith(entry["tokenHint"])
    assert entry["displayName"] == "CI sync reader"

    # The token works where its scope allows, and nowhere else.
    pat_auth = {"authorization": f"Bearer {token}"}
    reading = web.get("/v1/sync/changes", headers=pat_auth)
    assert reading.status_code == 200, reading.text
    writing = web.post(
        "/v1/sync:push",
        headers=pat_auth,
        json={
            "requestId": "6f4c3f0e-8f7e-4a55-9d55-2a9fd1c1f1aa",
            "changes": [{"collection": "settings", "key": "k", "value": "e30="}],
        },
    )
    assert writing.status_code == 403, writing.text
    assert _reason(writing) == "INSUFFICIENT_SCOPE"
    account = web.get("/v1/users/me/tokens", headers=pat_auth)
    assert account.status_code == 403, account.text  # a leaked CI token cannot manage the account

    deleted = web.delete(f"/v1/users/me/tokens/{pat['uid']}", headers=user.auth)
    assert deleted.status_code == 200, deleted.text
    remaining = web.get("/v1/users/me/tokens", headers=user.auth).json()["personalAccessTokens"]
    assert pat["uid"] not in [t["uid"] for t in remaining]
    # Other services may cache an introspection for at most 5 s.
    poll(
        lambda: web.get("/v1/sync/changes", headers=pat_auth).status_code == 401,
        timeout=10,
        message="a deleted token is refused",
    )

    types = [
        e["type"]
        for e in web.get("/v1/users/me/auditEvents", headers=user.auth).json()["auditEvents"]
    ]
    assert "AUDIT_EVENT_TYPE_PERSONAL_ACCESS_TOKEN_CREATED" in types, types
    assert "AUDIT_EVENT_TYPE_PERSONAL_ACCESS_TOKEN_REVOKED" in types, types


def test_organization_with_a_member(web: httpx.Client, stack: RunningStack) -> None:
    owner = register(web, stack, "owner", name="Olga Owner")
    member = register(web, stack, "member", name="Max Member")
    org_id = f"acme-{owner.id[:8]}"

    created = web.post(
        "/v1/organizations",
        headers=owner.auth,
        json={"organizationId": org_id, "organization": {"displayName": "Acme Inc."}},
    )
    assert created.status_code == 200, created.text
    assert created.json()["name"] == f"organizations/{org_id}"
    assert created.json()["displayName"] == "Acme Inc."

    added = web.post(
        f"/v1/organizations/{org_id}/members",
        headers=owner.auth,
        json={"email": member.email, "role": "ORGANIZATION_ROLE_MEMBER"},
    )
    assert added.status_code == 200, added.text
    assert added.json()["user"] == f"users/{member.id}"
    assert added.json()["role"] == "ORGANIZATION_ROLE_MEMBER"

    members = web.get(f"/v1/organizations/{org_id}/members", headers=owner.auth)
    assert members.status_code == 200, members.text
    roles = {m["email"]: m["role"] for m in members.json()["members"]}
    assert roles == {
        owner.email: "ORGANIZATION_ROLE_OWNER",
        member.email: "ORGANIZATION_ROLE_MEMBER",
    }

    # The member sees the organization in their list; a plain member cannot add people.
    mine = web.get("/v1/organizations", headers=member.auth)
    assert mine.status_code == 200, mine.text
    assert f"organizations/{org_id}" in [o["name"] for o in mine.json()["organizations"]]
    fetched = web.get(f"/v1/organizations/{org_id}", headers=member.auth)
    assert fetched.status_code == 200 and fetched.json()["displayName"] == "Acme Inc."
    denied = web.post(
        f"/v1/organizations/{org_id}/members",
        headers=member.auth,
        json={"email": owner.email, "role": "ORGANIZATION_ROLE_ADMIN"},
    )
    assert denied.status_code == 403, denied.text

    # The last owner cannot leave; the member can be removed.
    leave = web.delete(f"/v1/organizations/{org_id}/members/{owner.id}", headers=owner.auth)
    assert leave.status_code in (400, 409), leave.text
    removed = web.delete(f"/v1/organizations/{org_id}/members/{member.id}", headers=owner.auth)
    assert removed.status_code == 200, removed.text
    assert f"organizations/{org_id}" not in [
        o["name"] for o in web.get("/v1/organizations", headers=member.auth).json()["organizations"]
    ]

    types = [
        e["type"]
        for e in web.get(
            "/v1/users/me/auditEvents", headers=owner.auth, params={"pageSize": 50}
        ).json()["auditEvents"]
    ]
    for expected in (
        "AUDIT_EVENT_TYPE_ORGANIZATION_CREATED",
        "AUDIT_EVENT_TYPE_ORGANIZATION_MEMBER_ADDED",
        "AUDIT_EVENT_TYPE_ORGANIZATION_MEMBER_REMOVED",
        "AUDIT_EVENT_TYPE_LOGIN_SUCCEEDED",
        "AUDIT_EVENT_TYPE_EMAIL_VERIFIED",
    ):
        assert expected in types, (expected, types)


def test_audit_log_pages_and_shows_failed_sign_ins(web: httpx.Client, stack: RunningStack) -> None:
    user = register(web, stack, "audit")
    failed = web.post("/v1/auth:login", json={"email": user.email, "password": "wrong password!"})
    assert failed.status_code == 401

    def types() -> list[str]:
        seen: list[str] = []
        uids: list[str] = []
        token = ""
        while True:
            page = web.get(
                "/v1/users/me/auditEvents",
                headers=user.auth,
                params={"pageSize": 2, **({"pageToken": token} if token else {})},
            )
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["auditEvents"]) <= 2
            seen += [e["type"] for e in body["auditEvents"]]
            uids += [e["uid"] for e in body["auditEvents"]]
            token = body.get("nextPageToken", "")
            if not token:
                assert len(uids) == len(set(uids)), f"an event repeated across pages: {uids}"
                return seen

    # The failed-login row is written off the response path: wait for it.
    seen = poll(
        lambda: (t := types()) and "AUDIT_EVENT_TYPE_LOGIN_FAILED" in t and t,
        timeout=10,
        message="LOGIN_FAILED in the audit log",
    )
    assert "AUDIT_EVENT_TYPE_LOGIN_SUCCEEDED" in seen and "AUDIT_EVENT_TYPE_EMAIL_VERIFIED" in seen


def test_jwks_verifies_an_access_token(web: httpx.Client, stack: RunningStack) -> None:
    user = register(web, stack, "jwks")
    jwks = web.get("/.well-known/jwks.json")
    assert jwks.status_code == 200, jwks.text
    keys = {k["kid"]: k for k in jwks.json()["keys"]}
    header_b64, payload_b64, signature_b64 = user.access.split(".")
    header = json.loads(_b64(header_b64))
    payload = json.loads(_b64(payload_b64))
    assert header["alg"] == "EdDSA" and header["kid"] in keys
    key = keys[header["kid"]]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519"
    # Raises InvalidSignature if the published key did not sign the token.
    Ed25519PublicKey.from_public_bytes(_b64(key["x"])).verify(
        _b64(signature_b64), f"{header_b64}.{payload_b64}".encode()
    )
    assert payload["sub"] == user.id
    assert set(payload["scope"].split()) >= {"sync.read", "sync.write", "registry.publish"}
    assert payload["exp"] > time.time()


def test_cli_device_login_whoami_logout(web: httpx.Client, stack: RunningStack, cli: Cli) -> None:
    user = register(web, stack, "device", name="Dora Device")

    signed_out = cli.run("whoami", check=False)
    assert signed_out.returncode == 1
    assert "not signed in" in signed_out.stderr

    output = cli.device_login(web, approver=user)
    assert f"Signed in as {user.email}" in output, output
    assert "/device" in output  # where to enter the code
    credentials = cli.home / "credentials.json"
    assert credentials.exists()
    assert credentials.stat().st_mode & 0o077 == 0, oct(credentials.stat().st_mode)

    whoami = cli.run("whoami")
    assert whoami.stdout.split("\t")[0] == user.email, whoami.stdout
    assert "Dora Device" in whoami.stdout

    # The website lists the editor's session, signed in by device authorization.
    sessions = web.get("/v1/users/me/sessions", headers=user.auth).json()["sessions"]
    device_sessions = [
        s
        for s in sessions
        if s["authenticationMethod"] == "AUTHENTICATION_METHOD_DEVICE_AUTHORIZATION"
    ]
    assert len(device_sessions) == 1, sessions
    assert device_sessions[0]["deviceName"].startswith("symphony CLI on")

    logout = cli.run("logout")
    assert "Signed out" in logout.stdout
    assert not credentials.exists()
    after = cli.run("whoami", check=False)
    assert after.returncode == 1 and "not signed in" in after.stderr
    # Logging out ended that session on the server, too.
    sessions = web.get("/v1/users/me/sessions", headers=user.auth).json()["sessions"]
    assert not [
        s
        for s in sessions
        if s["authenticationMethod"] == "AUTHENTICATION_METHOD_DEVICE_AUTHORIZATION"
    ], sessions
    types = [
        e["type"]
        for e in web.get("/v1/users/me/auditEvents", headers=user.auth).json()["auditEvents"]
    ]
    assert "AUDIT_EVENT_TYPE_DEVICE_AUTHORIZATION_APPROVED" in types, types


def test_session_list_shows_the_browser_user_agent(web: httpx.Client, stack: RunningStack) -> None:
    """A user checking "where am I signed in" recognises sessions by browser/user agent."""
    user = register(web, stack, "agent")
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    response = web.post(
        "/v1/auth:login",
        headers={"user-agent": agent},
        json={"email": user.email, "password": user.password, "deviceName": "firefox"},
    )
    assert response.status_code == 200, response.text
    sessions = web.get("/v1/users/me/sessions", headers=user.auth).json()["sessions"]
    (firefox,) = [s for s in sessions if s["deviceName"] == "firefox"]
    assert firefox["userAgent"] == agent
