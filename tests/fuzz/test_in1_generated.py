"""IN-1: Hypothesis-generated valid-shape requests for every RPC, anonymous and with a valid
credential (a user's access token, or the service credential for *InternalService).

Pass: no UNKNOWN, no INTERNAL, no unhandled-exception log record, an answer within the deadline,
no internals in any error, the services still serving and the process' resident set grown by
less than 50 MB over the harness."""

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
from tests.fuzz.strategies import messages

RPCS = discover_rpcs()
EXAMPLES = examples(20, 300, "SYMPHONY_FUZZ_IN1_EXAMPLES")
# Request ids a client may send: valid ones are echoed, the rest replaced by the server's own.
REQUEST_IDS = ("fuzz-1", "a" * 128, "a" * 129, "", " ", "../x", "id with spaces", "<id>")

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


def test_every_service_rpc_is_fuzzed() -> None:
    """Discovery finds the RPCs of all four services (a rename must not empty the harness)."""
    owners = {rpc.owner for rpc in RPCS}
    assert owners == {"auth", "registry", "sync", "analytics"}
    assert len(RPCS) >= 40


@pytest.mark.slow
@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.id)
def test_generated_requests(rpc: Rpc, checked_stack: FuzzStack) -> None:
    stack = checked_stack
    stack.channel_for(rpc)  # fails at once when the service did not start
    message = messages(rpc.input_descriptor)
    request = st.lists(message, max_size=3) if rpc.client_streaming else message
    request_id = st.one_of(st.none(), st.sampled_from(REQUEST_IDS))

    @HYPOTHESIS
    @given(sample=request.map(Sample), request_id=request_id)
    def send(sample: Sample, request_id: str | None) -> None:
        batch = sample.value if rpc.client_streaming else [sample.value]
        payloads = [m.SerializeToString() for m in batch]
        sent = b"".join(payloads)
        for credential in stack.credentials(rpc):
            metadata = list(credential.metadata)
            if request_id is not None and request_id.isascii():
                metadata.append(("x-request-id", request_id))
            mark = stack.problems.mark()
            outcome = stack.call(rpc, payloads, metadata)
            stack.record(rpc, "IN-1", outcome)
            issues = problems_with(rpc, outcome, sent=sent, secrets_sent=stack.secrets_sent)
            if logged := stack.problems.since(mark):
                issues.append("unhandled exception logged:\n" + stack.problems.describe(logged))
            assert not issues, (
                f"{rpc.path} ({rpc.kind}) as {credential.name}: {outcome.summary()}\n  "
                + "\n  ".join(issues)
            )

    with rss_budget(stack, f"IN-1 {rpc.id}"):
        send()
