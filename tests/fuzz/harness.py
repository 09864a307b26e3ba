"""The input-robustness harness (RELIABILITY.md IN-1, IN-2): every RPC of every service,
discovered from the generated descriptors, called on the real services started in-process.

The four services run through `start_service` on their own event loop in a background thread,
so the tests drive them with a plain synchronous gRPC client and Hypothesis can shrink a
failing input to a small one. A service that cannot start (it may be mid-implementation) fails
only the tests of its own RPCs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import pkgutil
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import grpc
from google.protobuf import text_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.fuzz.strategies import LEAK_MARKERS, message_class

SERVICES = ("auth", "registry", "sync", "analytics")
# Scopes of an interactive login (see the service brief) plus any narrower or admin ones a
# service may check; an unknown scope is simply ignored.
USER_SCOPES = ("registry.publish", "sync.read", "sync.write", "analytics.read", "admin")
SERVICE_TOKEN_HEADER = "x-symphony-service-token"
LIBRARY_DESERIALIZE_ERROR = "Exception deserializing request!"
STREAM_READ_LIMIT = 3


def tier() -> str:
    return os.environ.get("SYMPHONY_TEST_TIER", "ci").lower()


def nightly() -> bool:
    return tier() == "nightly"


def per_call_deadline() -> float:
    return float(os.environ.get("SYMPHONY_FUZZ_DEADLINE", "2.0"))


def stream_window() -> float:
    return float(os.environ.get("SYMPHONY_FUZZ_STREAM_WINDOW", "0.5"))


def examples(ci: int, nightly_count: int, env: str) -> int:
    if value := os.environ.get(env):
        return int(value)
    return nightly_count if nightly() else ci


# ---------------------------------------------------------------------------------------------
# Discovery


@dataclass(frozen=True)
class Rpc:
    owner: str  # "auth": the service process that serves it
    service: str  # "symphony.auth.v1.AuthService"
    method: str  # "Login"
    input_descriptor: Descriptor = field(compare=False, repr=False)
    output_descriptor: Descriptor = field(compare=False, repr=False)
    client_streaming: bool = False
    server_streaming: bool = False

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.method}"

    @property
    def internal(self) -> bool:
        return self.service.endswith("InternalService")

    @property
    def id(self) -> str:
        return f"{self.service.rsplit('.', 1)[-1]}.{self.method}"

    @property
    def kind(self) -> str:
        return {
            (False, False): "unary",
            (False, True): "server-streaming",
            (True, False): "client-streaming",
            (True, True): "bidi",
        }[(self.client_streaming, self.server_streaming)]

    def request_class(self) -> type[Message]:
        return message_class(self.input_descriptor)

    def response_class(self) -> type[Message]:
        return message_class(self.output_descriptor)


@cache
def discover_rpcs() -> tuple[Rpc, ...]:
    """Every method of every service in `symphony.<svc>.v1.*_service_pb2`."""
    import symphony

    rpcs: list[Rpc] = []
    for svc in SERVICES:
        try:
            package = importlib.import_module(f"symphony.{svc}.v1")
        except ImportError:
            continue
        for module_info in pkgutil.iter_modules(package.__path__):
            if not module_info.name.endswith("_service_pb2"):
                continue
            module = importlib.import_module(f"{package.__name__}.{module_info.name}")
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    rpcs.append(
                        Rpc(
                            owner=svc,
                            service=service.full_name,
                            method=method.name,
                            input_descriptor=method.input_type,
                            output_descriptor=method.output_type,
                            client_streaming=method.client_streaming,
                            server_streaming=method.server_streaming,
                        )
                    )
    del symphony
    return tuple(sorted(rpcs, key=lambda r: (r.owner, r.service, r.method)))


# ---------------------------------------------------------------------------------------------
# Captured server-side problems


class ProblemLog(logging.Handler):
    """Collects every `symphony.errors` record (an unhandled exception reached the interceptor)
    and every other ERROR record, e.g. asyncio's "Task exception was never retrieved"."""

    # The gRPC library logs its own refusal of undecodable bytes; that is not our code.
    ALLOWED = ("deserializ",)

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._lock_records = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != "symphony.errors":
            text = record.getMessage().lower()
            if any(a in text for a in self.ALLOWED):
                return
        with self._lock_records:
            self.records.append(record)

    def mark(self) -> int:
        with self._lock_records:
            return len(self.records)

    def since(self, mark: int) -> list[logging.LogRecord]:
        with self._lock_records:
            return list(self.records[mark:])

    @staticmethod
    def describe(records: Sequence[logging.LogRecord]) -> str:
        lines = []
        for r in records[:5]:
            exc = ""
            if r.exc_info and r.exc_info[1] is not None:
                exc = f" <- {type(r.exc_info[1]).__name__}: {str(r.exc_info[1])[:300]}"
            lines.append(f"[{r.name}] {r.getMessage()[:300]}{exc}")
        return "\n".join(lines)


def _release_free_memory() -> None:
    """Hand freed heap back to the OS (glibc keeps freed 1 MiB buffers in its arenas, which
    would read as growth), so RSS shows what is still referenced. (No `gc.collect()`: with
    gRPC, SQLAlchemy and Hypothesis loaded a full collection costs over half a second.)"""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_bytes() -> int:
    _release_free_memory()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------------------------------------
# The services, in-process


def _free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


@dataclass
class Outcome:
    code: grpc.StatusCode
    details: str
    trailers: tuple[tuple[str, Any], ...]
    responses: list[bytes]
    elapsed: float
    cancelled_by_us: bool = False

    def status_proto(self) -> status_pb2.Status | None:
        for key, value in self.trailers:
            if key == "grpc-status-details-bin" and isinstance(value, bytes):
                with contextlib.suppress(Exception):
                    return status_pb2.Status.FromString(value)
        return None

    def error_info(self) -> error_details_pb2.ErrorInfo | None:
        status = self.status_proto()
        if status is None:
            return None
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return info
        return None

    def visible_text(self) -> str:
        """Everything the client can read about the error, decoded."""
        parts = [self.details or ""]
        for key, value in self.trailers:
            if key == "grpc-status-details-bin" and isinstance(value, bytes):
                status = self.status_proto()
                if status is not None:
                    parts.append(text_format.MessageToString(status, as_utf8=True))
                    for detail in status.details:
                        parts.append(_unpack_any_text(detail))
                else:
                    parts.append(value.decode("utf-8", "replace"))
            elif key != "x-request-id":
                text = value if isinstance(value, str) else value.decode("utf-8", "replace")
                parts.append(f"{key}: {text}")
        return "\n".join(parts)

    def summary(self) -> str:
        info = self.error_info()
        reason = f" reason={info.reason}" if info else ""
        return f"{self.code.name}{reason} in {self.elapsed:.3f}s: {self.details[:300]!r}"


def _unpack_any_text(detail: Any) -> str:
    from google.protobuf import symbol_database

    type_name = detail.type_url.rsplit("/", 1)[-1]
    try:
        cls = symbol_database.Default().GetSymbol(type_name)
    except KeyError:
        return detail.value.decode("utf-8", "replace")
    message = cls()
    detail.Unpack(message)
    return text_format.MessageToString(message, as_utf8=True)


@dataclass
class Credential:
    name: str
    metadata: tuple[tuple[str, str], ...]


@dataclass
class FuzzStack:
    database_url: str
    redis_url: str
    service_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    loop: asyncio.AbstractEventLoop | None = None
    thread: threading.Thread | None = None
    ports: dict[str, int] = field(default_factory=dict)
    running: dict[str, Any] = field(default_factory=dict)
    start_errors: dict[str, str] = field(default_factory=dict)
    channels: dict[str, grpc.Channel] = field(default_factory=dict)
    problems: ProblemLog = field(default_factory=ProblemLog)
    user_token: str = ""
    secrets_sent: tuple[str, ...] = ()
    stats: dict[str, Counter[str]] = field(default_factory=dict)
    rss_growth: int = 0
    rss_after_warm_up: int = 0
    rss_deltas: list[tuple[str, int, float]] = field(default_factory=list)

    # -- lifecycle ---------------------------------------------------------------------------

    def __repr__(self) -> str:  # keeps the credentials out of failure reports
        return f"FuzzStack(ports={self.ports}, start_errors={self.start_errors})"

    def start(self) -> None:
        from symphony_common.db import migrations
        from symphony_common.service import Overrides
        from symphony_common.testing.tokens import TestSigner

        logging.getLogger().addHandler(self.problems)
        signer = TestSigner()
        self.user_token = signer.mint("fuzz-user-1", scopes=USER_SCOPES)
        self.secrets_sent = (self.user_token, self.service_token)
        self.ports = dict(zip(SERVICES, _free_ports(len(SERVICES)), strict=True))
        self.loop = _new_loop()
        self.thread = threading.Thread(target=self._run_loop, name="fuzz-services", daemon=True)
        self.thread.start()
        overrides = Overrides(jwks_source=signer.jwks)
        for svc in SERVICES:
            try:
                definition = importlib.import_module(f"symphony_{svc}.bootstrap").DEFINITION
                migrations.upgrade(self.database_url, definition.schema, definition.migrations_dir)
                settings = definition.settings_class(**self._settings_for(svc))
                future = asyncio.run_coroutine_threadsafe(
                    _start(definition, settings, self.ports[svc], overrides), self.loop
                )
                self.running[svc] = future.result(timeout=60)
            except Exception as exc:  # reported by every test of this service's RPCs
                self.start_errors[svc] = f"{type(exc).__name__}: {exc}"
                continue
            self.channels[svc] = grpc.insecure_channel(
                f"127.0.0.1:{self.ports[svc]}",
                options=[
                    ("grpc.max_receive_message_length", 16 << 20),
                    ("grpc.max_send_message_length", 16 << 20),
                ],
            )

    def warm_up(self) -> None:
        """One empty request per RPC and credential before memory is measured: first calls
        fill caches (compiled SQL, connection pools, message classes) once for good."""
        from tests.fuzz.strategies import messages

        for rpc in discover_rpcs():
            messages(rpc.input_descriptor)  # strategies are cached too
            if rpc.owner not in self.channels:
                continue
            for credential in self.credentials(rpc):
                self.call(rpc, [b""], credential.metadata)

    def _settings_for(self, svc: str) -> dict[str, Any]:
        return {
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "service_token": self.service_token,
            "page_token_secret": "fuzz-page-token-secret",
            "log_level": "WARNING",
            "db_pool_size": 2,
            "db_max_overflow": 5,
            "shutdown_grace_seconds": 1.0,
            **{f"{peer}_address": f"127.0.0.1:{port}" for peer, port in self.ports.items()},
        }

    def _run_loop(self) -> None:
        assert self.loop is not None
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        for channel in self.channels.values():
            channel.close()
        if self.loop is not None:
            for running in self.running.values():
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(running.stop(0.5), self.loop).result(
                        timeout=30
                    )
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(timeout=30)
        if self.loop is not None and not self.loop.is_running():
            self.loop.close()
        logging.getLogger().removeHandler(self.problems)

    # -- health ------------------------------------------------------------------------------

    def alive(self) -> list[str]:
        """Problems with the process: an empty list when every started service still answers."""
        issues = []
        if self.thread is None or not self.thread.is_alive():
            issues.append("the services' event-loop thread has died")
            return issues
        for svc, channel in self.channels.items():
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service="liveness"), timeout=5)
            except grpc.RpcError as err:
                issues.append(f"{svc}: health check failed: {err.code().name}")
                continue
            if reply.status != health_pb2.HealthCheckResponse.SERVING:
                issues.append(f"{svc}: liveness is {reply.status}")
        return issues

    # -- calls -------------------------------------------------------------------------------

    def credentials(self, rpc: Rpc) -> list[Credential]:
        anonymous = Credential("anonymous", ())
        if rpc.internal:
            return [anonymous, Credential("service", ((SERVICE_TOKEN_HEADER, self.service_token),))]
        return [anonymous, Credential("user", (("authorization", f"Bearer {self.user_token}"),))]

    def channel_for(self, rpc: Rpc) -> grpc.Channel:
        if rpc.owner not in self.channels:
            raise AssertionError(
                f"{rpc.owner} did not start: {self.start_errors.get(rpc.owner, 'not discovered')}"
            )
        return self.channels[rpc.owner]

    def call(
        self,
        rpc: Rpc,
        payloads: Sequence[bytes],
        metadata: Sequence[tuple[str, str]],
        timeout: float | None = None,
    ) -> Outcome:
        """Send raw `payloads` (one for unary requests) and wait for the end of the call."""
        channel = self.channel_for(rpc)
        if timeout is None:
            # A stream may rightly stay open and idle (Watch): read what comes within a short
            # window, then leave.
            timeout = stream_window() if rpc.server_streaming else per_call_deadline()
        started = time.perf_counter()
        responses: list[bytes] = []
        cancelled = False
        try:
            if not rpc.server_streaming:
                if rpc.client_streaming:
                    multi = channel.stream_unary(
                        rpc.path, request_serializer=None, response_deserializer=None
                    )
                    response, call = multi.with_call(
                        iter(list(payloads)), timeout=timeout, metadata=metadata
                    )
                else:
                    multi = channel.unary_unary(
                        rpc.path, request_serializer=None, response_deserializer=None
                    )
                    response, call = multi.with_call(
                        payloads[0], timeout=timeout, metadata=metadata
                    )
                responses.append(response)
                return Outcome(
                    grpc.StatusCode.OK,
                    "",
                    tuple(call.trailing_metadata() or ()),
                    responses,
                    time.perf_counter() - started,
                )
            if rpc.client_streaming:
                stream = channel.stream_stream(
                    rpc.path, request_serializer=None, response_deserializer=None
                )(iter(list(payloads)), timeout=timeout, metadata=metadata)
            else:
                stream = channel.unary_stream(
                    rpc.path, request_serializer=None, response_deserializer=None
                )(payloads[0], timeout=timeout, metadata=metadata)
            for item in stream:
                responses.append(item)
                if len(responses) >= STREAM_READ_LIMIT:
                    cancelled = stream.cancel()
                    break
            code = stream.code()
            return Outcome(
                code,
                stream.details() or "",
                tuple(stream.trailing_metadata() or ()),
                responses,
                time.perf_counter() - started,
                cancelled,
            )
        except grpc.RpcError as err:
            return Outcome(
                err.code(),
                err.details() or "",
                tuple(err.trailing_metadata() or ()),
                responses,
                time.perf_counter() - started,
                cancelled,
            )

    def record(self, rpc: Rpc, label: str, outcome: Outcome) -> None:
        info = outcome.error_info()
        key = outcome.code.name + (f"/{info.reason}" if info else "")
        self.stats.setdefault(f"{label} {rpc.path}", Counter())[key] += 1


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # what `serve` runs on
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _start(definition: Any, settings: Any, port: int, overrides: Any) -> Any:
    from symphony_common.service import start_service

    return await start_service(definition, settings, port=port, overrides=overrides)


# ---------------------------------------------------------------------------------------------
# Pass criteria


def leaks(outcome: Outcome, sent: bytes, secrets_sent: Sequence[str]) -> list[str]:
    """Internals visible to the client that the request itself did not contain."""
    text = outcome.visible_text()
    found = []
    for match in LEAK_MARKERS.finditer(text):
        if match.group(0).encode().lower() not in sent.lower():
            found.append(match.group(0))
    found.extend("a credential" for s in secrets_sent if s and s in text)
    return found


def problems_with(
    rpc: Rpc,
    outcome: Outcome,
    *,
    sent: bytes,
    secrets_sent: Sequence[str],
    parseable: bool = True,
) -> list[str]:
    """Everything wrong with one call's outcome (IN-1 when `parseable`, IN-2 otherwise)."""
    issues: list[str] = []
    code = outcome.code
    if code == grpc.StatusCode.UNKNOWN:
        issues.append("status UNKNOWN (an exception escaped the interceptor)")
    if code == grpc.StatusCode.INTERNAL:
        library = outcome.details == LIBRARY_DESERIALIZE_ERROR
        if parseable:
            issues.append("INTERNAL for a request that parses" + (" (library)" if library else ""))
        elif not library:
            issues.append(
                "INTERNAL from our code for undecodable bytes (expected the library's "
                f"{LIBRARY_DESERIALIZE_ERROR!r} or INVALID_ARGUMENT)"
            )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and not rpc.server_streaming:
        issues.append(f"no answer within the {per_call_deadline()} s deadline")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "metadata size exceeds" in outcome.details:
        issues.append(
            "the error's trailers exceed gRPC's metadata limit, so the client gets the "
            "library's RESOURCE_EXHAUSTED instead of the error (input echoed unbounded?)"
        )
    if code == grpc.StatusCode.OK and not parseable:
        issues.append("OK for bytes that do not parse as the request type")
    if code == grpc.StatusCode.OK:
        response_class = rpc.response_class()
        for raw in outcome.responses:
            try:
                response_class.FromString(raw)
            except Exception:
                issues.append("response does not parse as the declared response type")
                break
    if code not in (grpc.StatusCode.OK,):
        found = leaks(outcome, sent, secrets_sent)
        if found:
            issues.append(f"error reveals internals: {sorted(set(found))}")
    return issues


def describe_request(message: Message | Sequence[Message] | bytes, limit: int = 1500) -> str:
    if isinstance(message, bytes):
        text = repr(message[:limit]) + (
            f"... ({len(message)} bytes)" if len(message) > limit else ""
        )
        return text
    if isinstance(message, Message):
        text = text_format.MessageToString(message, as_utf8=True, as_one_line=True)
        return text if len(text) <= limit else f"{text[:limit]}... ({message.ByteSize()} bytes)"
    return (
        "[" + ", ".join(describe_request(m, limit // max(1, len(message))) for m in message) + "]"
    )


@dataclass
class Sample:
    """A drawn request whose repr stays short in Hypothesis' failure report."""

    value: Any

    def __repr__(self) -> str:
        return f"Sample({describe_request(self.value)})"


@contextlib.contextmanager
def rss_budget(stack: FuzzStack, label: str) -> Iterator[None]:
    """Adds this block's net resident-set change to the stack's running total (net, so that
    memory other tests of this worker take in between is not charged to the harness)."""
    before = rss_bytes()
    started = time.perf_counter()
    try:
        yield
    finally:
        delta = rss_bytes() - before
        stack.rss_growth += delta
        stack.rss_deltas.append((label, delta, round(time.perf_counter() - started, 2)))
