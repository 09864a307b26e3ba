"""IN-1's memory criterion: fuzzing does not make the services grow (< 50 MB).

The services share this process with the client and Hypothesis, so the test measures the
steady state: a first pass of generated requests over every RPC fills what fills once (first
use of each code path, compiled SQL, gRPC buffers, the allocator's high-water marks; about
55 MB here), then a second, identical pass must add less than 50 MB. A leak of a few KiB per
call shows in the second pass; warm-up does not. Outcomes are judged by test_in1_generated."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import FuzzStack, Rpc, discover_rpcs, examples, rss_bytes
from tests.fuzz.strategies import messages

RSS_LIMIT = 50 << 20
PER_RPC = examples(3, 30, "SYMPHONY_FUZZ_MEMORY_EXAMPLES")


def _send_all(stack: FuzzStack, rpc: Rpc) -> None:
    message = messages(rpc.input_descriptor)
    request = st.lists(message, max_size=3) if rpc.client_streaming else message

    @settings(
        max_examples=PER_RPC,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(request)
    def send(value: Any) -> None:
        batch = value if rpc.client_streaming else [value]
        payloads = [m.SerializeToString() for m in batch]
        for credential in stack.credentials(rpc):
            stack.call(rpc, payloads, credential.metadata)

    send()


def _pass(stack: FuzzStack, rpcs: list[Rpc]) -> None:
    for rpc in rpcs:
        _send_all(stack, rpc)


@pytest.mark.slow
def test_fuzzing_does_not_grow_the_services(checked_stack: FuzzStack) -> None:
    stack = checked_stack
    rpcs = [rpc for rpc in discover_rpcs() if rpc.owner in stack.channels]
    assert rpcs, f"no service started: {stack.start_errors}"
    _pass(stack, rpcs)
    warm = rss_bytes()
    _pass(stack, rpcs)
    growth = rss_bytes() - warm
    stack.stats.setdefault("memory", Counter())["second_pass_growth_kib"] = growth >> 10
    assert growth < RSS_LIMIT, (
        f"a second identical fuzz pass over {len(rpcs)} RPCs grew the process by "
        f"{growth / 2**20:.1f} MiB (limit 50): a leak in a service or the shared library"
    )
