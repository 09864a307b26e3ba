"""Auth (issue 3): GetCurrentUser with a bearer token against the bare gRPC echo, local
access-token verification against a bare Ed25519 check, login throughput against bare argon2id
hashing, and the auth service's resident memory after the benchmark.

Targets: GetCurrentUser at concurrency 32 ≥ 0.5 × bare echo (both driven by h2load, same
connections and streams); a first verification ≥ 0.7 × the bare `cryptography` Ed25519
signature check of the same token (the ratio is bare time / verifier time); a token seen before
answered in ≤ 10 µs; login throughput ≥ 0.8 × the bare argon2id hash rate with the service's
parameters; auth RSS < 150 MB after all of it.

GetCurrentUser repeats one signed-in session, as a client re-reading its account does, so after
the first call it is answered from auth's session cache (SYMPHONY_AUTH_SESSION_CACHE_SECONDS;
set it to 0 to measure the database path). The row also reports the auth server's CPU time per
call, which a shared machine disturbs less than throughput.

Fairness of the login figure: the service hashes on its own thread pool of one thread per CPU
it may run on (`symphony_auth.domain.passwords.hashing_threads`), in one process pinned to the
server core. The baseline (`bench.auth_argon2`) runs the same parameters on a pool of the same
size with the same number of hashes in flight, in one process pinned to the same core. A
login *verifies* a password, which is one argon2id computation with the stored salt: the same
cost as a hash.
Successful logins are counted as new rows in `auth.sessions` (h2load counts HTTP 200 even when
the gRPC status is an error).

The verification rows run in this process (no server), with tokens shaped exactly like auth's:
the claims of a real login's access token re-signed with a fresh `jti` per token, so each one
is a first verification.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bench.context import BenchContext
from bench.harness import (
    PYTHON,
    RUNS,
    SECONDS,
    Measurement,
    Row,
    cpu_seconds,
    flag_generator,
    free_port,
    grpc_frame,
    h2load,
    median_of,
    pin_prefix,
    process,
    rss_mb,
)
from bench.scenarios.baselines import GRPC_HEADERS, grpc_echo_rps
from symphony.auth.v1 import auth_service_pb2 as pb
from symphony.auth.v1 import auth_service_pb2_grpc
from symphony.auth.v1 import resources_pb2 as rpb
from symphony_auth.config import AuthSettings
from symphony_common.testing.tokens import TestSigner
from symphony_common.tokens import ACCESS_TOKEN_TYPE, AccessTokenVerifier

CONCURRENCY = 32
CONNECTIONS = 4
LOGIN_CONCURRENCY = 8
LOGIN_CONNECTIONS = 2
VERIFY_TOKENS = 3000
CACHED_CALLS = 200_000
RSS_LIMIT_MB = 150.0
PASSWORD = "correct horse battery staple 42"
GET_CURRENT_USER = "/symphony.auth.v1.AuthService/GetCurrentUser"
LOGIN = "/symphony.auth.v1.AuthService/Login"


def _env(ctx: BenchContext, port: int) -> dict[str, str]:
    return {
        "DATABASE_URL": ctx.database_url,
        "REDIS_URL": ctx.redis_url,
        "SYMPHONY_SERVICE_TOKEN": "bench-service-token",
        "SYMPHONY_PAGE_TOKEN_SECRET": "bench",
        "SYMPHONY_AUTH_GRPC_PORT": str(port),
        "SYMPHONY_AUTH_BIND": "127.0.0.1",
        "SYMPHONY_LOG_LEVEL": "WARNING",
    }


# ---------------------------------------------------------------- set-up over gRPC


async def _account(address: str, email: str) -> str:
    """Register `email` and sign in once; returns the access token (checked with a real call)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        await stub.CreateUser(
            pb.CreateUserRequest(
                user=rpb.User(email=email, display_name="Bench User"), password=PASSWORD
            )
        )
        pair = await stub.Login(
            pb.LoginRequest(email=email, password=PASSWORD, device_name="bench", platform="linux")
        )
        me = await stub.GetCurrentUser(
            pb.GetCurrentUserRequest(),
            metadata=(("authorization", f"Bearer {pair.access_token}"),),
        )
        if me.email != email:
            raise RuntimeError(f"GetCurrentUser answered {me.email!r}, not {email!r}")
        return str(pair.access_token)


def _sessions(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM auth.sessions").fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------- throughput rows


def _get_current_user(
    ctx: BenchContext, address: str, token: str, pid: int
) -> tuple[Measurement, float]:
    """The throughput, and the server's CPU time per call in µs (median of the runs): steadier
    than throughput on a shared machine."""
    body = grpc_frame(pb.GetCurrentUserRequest().SerializeToString())
    cpu_per_call: list[float] = []

    def once() -> Measurement:
        before = cpu_seconds(pid)
        m = h2load(
            f"http://{address}{GET_CURRENT_USER}",
            connections=CONNECTIONS,
            streams=CONCURRENCY // CONNECTIONS,
            body=body,
            headers=(*GRPC_HEADERS, f"authorization: Bearer {token}"),
            core=ctx.generator_core,
        )
        calls = m.rps * max(1, round(SECONDS))
        if calls:
            cpu_per_call.append((cpu_seconds(pid) - before) / calls * 1e6)
        return m

    user = median_of(RUNS, once)
    return user, statistics.median(cpu_per_call) if cpu_per_call else float("nan")


def _logins(ctx: BenchContext, address: str, email: str) -> Measurement:
    body = grpc_frame(
        pb.LoginRequest(
            email=email, password=PASSWORD, device_name="bench", platform="linux"
        ).SerializeToString()
    )

    def once() -> Measurement:
        before = _sessions(ctx.database_url)
        m = h2load(
            f"http://{address}{LOGIN}",
            connections=LOGIN_CONNECTIONS,
            streams=LOGIN_CONCURRENCY // LOGIN_CONNECTIONS,
            body=body,
            headers=GRPC_HEADERS,
            core=ctx.generator_core,
        )
        created = _sessions(ctx.database_url) - before
        answered = m.rps * max(1, round(SECONDS))
        # Only sessions actually created count; answers that were gRPC errors do not.
        m.errors += max(0, round(answered) - created)
        m.rps = min(m.rps, created / max(1, round(SECONDS)))
        return m

    return median_of(RUNS, once)


def _argon2_rate(ctx: BenchContext, settings: AuthSettings) -> Measurement:
    def once() -> Measurement:
        out = subprocess.run(
            [
                *pin_prefix(ctx.server_core),
                PYTHON,
                "-m",
                "bench.auth_argon2",
                str(LOGIN_CONCURRENCY),
                str(max(1, round(SECONDS))),
                str(settings.argon2_memory_kib),
                str(settings.argon2_time_cost),
                str(settings.argon2_parallelism),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        return Measurement(rps=float(result["rate"]), p50_ms=1000.0 / max(result["rate"], 1e-9))

    return median_of(RUNS, once)


# ---------------------------------------------------------------- local verification


def _tokens_like(real: str, count: int) -> tuple[list[str], TestSigner]:
    """`count` tokens with the claims and header of a real access token, each its own jti."""
    claims = jwt.decode(real, options={"verify_signature": False})
    claims["exp"] = int(time.time()) + 3600
    signer = TestSigner(kid=str(jwt.get_unverified_header(real)["kid"]), issuer=claims["iss"])
    headers = {"kid": signer.kid, "typ": ACCESS_TOKEN_TYPE}
    tokens = [
        jwt.encode(
            {**claims, "jti": uuid.uuid4().hex},
            signer.private_key,
            algorithm="EdDSA",
            headers=headers,
        )
        for _ in range(count)
    ]
    return tokens, signer


def _bare_check(tokens: Sequence[str], key: Ed25519PublicKey) -> float:
    """Seconds per token of the bare signature check: split, decode the signature, verify."""
    started = time.perf_counter()
    for token in tokens:
        signing_input, _, signature = token.rpartition(".")
        key.verify(base64.urlsafe_b64decode(signature + "=="), signing_input.encode())
    return (time.perf_counter() - started) / len(tokens)


async def _verifier_seconds(
    tokens: Sequence[str], jwks: Sequence[Mapping[str, Any]], issuer: str
) -> tuple[float, float]:
    """(seconds per first verification, seconds per cached verification) of the shared
    `AccessTokenVerifier` (auth's audience, keys loaded beforehand as in a running service)."""

    async def source() -> Sequence[Mapping[str, Any]]:
        return jwks

    verifier = AccessTokenVerifier(
        source, issuer=issuer, audience="auth.symphony.dev", cache_size=len(tokens) + 10
    )
    await verifier.refresh_keys(force=True)
    started = time.perf_counter()
    for token in tokens:
        await verifier.verify(token)
    first = (time.perf_counter() - started) / len(tokens)
    seen = tokens[0]
    started = time.perf_counter()
    for _ in range(CACHED_CALLS):
        await verifier.verify(seen)
    cached = (time.perf_counter() - started) / CACHED_CALLS
    return first, cached


def _verification(real_token: str) -> tuple[float, float, float]:
    """Median over RUNS of (bare µs, first-verification µs, cached µs), measured back to back
    on fresh tokens each round."""
    bare, first, cached = [], [], []
    for _ in range(max(RUNS, 3)):
        tokens, signer = _tokens_like(real_token, VERIFY_TOKENS)
        key = signer.private_key.public_key()
        _bare_check(tokens[:200], key)  # warm-up
        bare.append(_bare_check(tokens, key) * 1e6)
        f, c = asyncio.run(_verifier_seconds(tokens, [signer.jwk()], signer.issuer))
        first.append(f * 1e6)
        cached.append(c * 1e6)
    return statistics.median(bare), statistics.median(first), statistics.median(cached)


# ---------------------------------------------------------------- the scenario


def run(ctx: BenchContext) -> list[Row]:
    settings = AuthSettings()
    ctx.logs.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [PYTHON, "-m", "symphony_auth", "migrate"],
        env={**os.environ, **_env(ctx, 0)},
        check=True,
        capture_output=True,
    )
    port = free_port()
    address = f"127.0.0.1:{port}"
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    rows: list[Row] = []
    with process(
        [PYTHON, "-m", "symphony_auth", "serve"],
        env=_env(ctx, port),
        core=ctx.server_core,
        port=port,
        log=ctx.logs / "auth.log",
    ) as server:
        token = asyncio.run(_account(address, email))
        user, user_cpu_us = _get_current_user(ctx, address, token, server.pid)
        logins = _logins(ctx, address, email)
        rss = rss_mb(server.pid)  # after both loads
    with ctx.bare_echo(ctx.server_core) as echo_address:
        echo = grpc_echo_rps(ctx, echo_address, CONCURRENCY)
    hashes = _argon2_rate(ctx, settings)
    bare_us, first_us, cached_us = _verification(token)

    ratio = user.rps / echo.rps if echo.rps else 0.0
    rows.append(
        Row(
            "auth",
            f"GetCurrentUser (bearer) vs bare echo, c={CONCURRENCY}",
            user.rps,
            echo.rps,
            ratio,
            "≥ 0.5",
            ratio >= 0.5 and not user.errors,
            "req/s",
            [
                *flag_generator([user, echo]),
                f"auth server CPU per GetCurrentUser: {user_cpu_us:.0f} µs",
            ],
        )
    )
    ratio = bare_us / first_us if first_us else 0.0
    rows.append(
        Row(
            "auth",
            "first token verification vs bare Ed25519 check",
            first_us,
            bare_us,
            ratio,
            "≥ 0.7 (bare/project)",
            ratio >= 0.7,
            "µs",
            [f"{VERIFY_TOKENS} distinct tokens per round, shaped like auth's"],
        )
    )
    rows.append(
        Row(
            "auth",
            "cached token verification",
            cached_us,
            10.0,
            cached_us / 10.0,
            "≤ 10 µs",
            cached_us <= 10.0,
            "µs",
            [f"{CACHED_CALLS} calls of AccessTokenVerifier.verify on one token"],
        )
    )
    ratio = logins.rps / hashes.rps if hashes.rps else 0.0
    rows.append(
        Row(
            "auth",
            f"login vs bare argon2id hash rate, {LOGIN_CONCURRENCY} in flight",
            logins.rps,
            hashes.rps,
            ratio,
            "≥ 0.8",
            ratio >= 0.8 and not logins.errors,
            "logins/s",
            [
                *flag_generator([logins]),
                f"argon2id m={settings.argon2_memory_kib} KiB t={settings.argon2_time_cost} "
                f"p={settings.argon2_parallelism}; service and baseline on one core, "
                "one hashing thread per usable CPU",
            ],
        )
    )
    rows.append(
        Row(
            "auth",
            "auth service RSS after the benchmark",
            rss,
            RSS_LIMIT_MB,
            rss / RSS_LIMIT_MB,
            "< 150 MB",
            rss < RSS_LIMIT_MB,
            "MB",
        )
    )
    return rows
