"""IN-2: random, bit-flipped, cut and spliced request bytes for every RPC, sent through a
generic channel call (no serializer), so the services' deserialization and everything behind
it meet bytes no client library would produce.

Pass: bytes that do not parse end in INVALID_ARGUMENT, the gRPC library's INTERNAL "Exception
deserializing request!", or an earlier refusal such as UNAUTHENTICATED; never in INTERNAL from
our code, UNKNOWN, or OK. (`grpc.aio` itself answers undecodable bytes with UNKNOWN "Unexpected
<class 'DecodeError'>: ..." unless the interceptor decodes requests itself.) Bytes that parse
are held to IN-1's criteria; the process keeps serving."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import (
    FuzzStack,
    Rpc,
    Sample,
    discover_rpcs,
    examples,
    nightly,
    problems_with,
    rss_budget,
)
from tests.fuzz.strategies import parses, raw_requests

RPCS = discover_rpcs()
EXAMPLES = examples(30, 2_000, "SYMPHONY_FUZZ_IN2_EXAMPLES")

HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    derandomize=not nightly(),
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


@pytest.mark.slow
@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.id)
def test_corrupted_bytes(rpc: Rpc, checked_stack: FuzzStack) -> None:
    stack = checked_stack
    stack.channel_for(rpc)
    request_class = rpc.request_class()
    raw = raw_requests(rpc.input_descriptor)
    request = st.lists(raw, min_size=1, max_size=3) if rpc.client_streaming else raw
    credentials = stack.credentials(rpc)

    @HYPOTHESIS
    @given(sample=request.map(Sample), which=st.integers(0, len(credentials) - 1))
    def send(sample: Sample, which: int) -> None:
        payloads = list(sample.value) if rpc.client_streaming else [sample.value]
        parseable = all(parses(request_class, p) for p in payloads)
        credential = credentials[which]
        mark = stack.problems.mark()
        outcome = stack.call(rpc, payloads, credential.metadata)
        stack.record(rpc, "IN-2", outcome)
        issues = problems_with(
            rpc,
            outcome,
            sent=b"".join(payloads),
            secrets_sent=stack.secrets_sent,
            parseable=parseable,
        )
        if logged := stack.problems.since(mark):
            issues.append("unhandled exception logged:\n" + stack.problems.describe(logged))
        assert not issues, (
            f"{rpc.path} ({rpc.kind}) as {credential.name}, request "
            f"{'parses' if parseable else 'does not parse'}: {outcome.summary()}\n  "
            + "\n  ".join(issues)
        )

    with rss_budget(stack, f"IN-2 {rpc.id}"):
        send()
