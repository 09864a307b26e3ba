"""IN-3: the run's shape (tier sizes, operations split into passes) and the narrow exceptions to
Schemathesis' checks, each with the reason it is a false positive of the tool here."""

from __future__ import annotations

import os
from typing import Any

NIGHTLY = os.environ.get("SYMPHONY_TEST_TIER") == "nightly"

# Examples per operation and phase (`-n`), stateful steps; RELIABILITY.md: `-n 100` CI /
# `-n 1000` nightly for the whole table. CI is sized so the file stays within ~4 minutes on 2
# cores, stack start-up included; nightly is the real depth.
MAX_EXAMPLES = int(os.environ.get("SYMPHONY_IN3_EXAMPLES", "100" if NIGHTLY else "4"))
STATEFUL_STEPS = 50 if NIGHTLY else 10
# The stateful phase (chains of linked requests: create, read, delete, read again) runs until
# this budget ends; it comes last, so every operation has been fuzzed by then. A budget that
# ends a run is not a failure; the findings so far are reported.
MAX_SECONDS = 3600 if NIGHTLY else 90
SESSION_PASS_SECONDS = 600 if NIGHTLY else 20
# Phases of the run. The coverage phase (every boundary and every type mutation of every
# parameter, ~25 requests per operation whatever `-n` is) takes minutes on 2 cores, so it is
# nightly; CI fuzzes each operation with `MAX_EXAMPLES` valid and invalid inputs, then runs
# stateful chains. `SYMPHONY_IN3_PHASES=coverage,fuzzing` picks phases while investigating.
PHASES = tuple(
    os.environ.get(
        "SYMPHONY_IN3_PHASES",
        "examples,coverage,fuzzing,stateful" if NIGHTLY else "examples,fuzzing,stateful",
    ).split(",")
)
# CI replays one seed, so a failure reproduces (RELIABILITY.md: "derandomize in CI"); the
# nightly tier draws a new one each run to explore (its failures print the seed).
SEED = int(os.environ.get("SYMPHONY_IN3_SEED", "0")) or (None if NIGHTLY else 20261207)
# One worker: Schemathesis' workers are threads, and CPython 3.11's `ast` module keeps its
# recursion counter per interpreter, so two threads describing Hypothesis strategies at once
# fail with "AST constructor recursion depth mismatch" (an error of the run, not the API).
WORKERS = 1

# Operations that end the caller's own session or account. They run in a pass of their own,
# with users of their own, so the main pass keeps valid credentials throughout.
SESSION_ENDING = frozenset(
    {
        "AuthService_Logout",
        "AuthService_DeleteSession",
        "AuthService_DeleteCurrentUser",
    }
)


def _custom_methods(document: dict[str, Any]) -> list[str]:
    return [
        op["operationId"]
        for path, item in document["paths"].items()
        if ":" in path.rsplit("/", 1)[-1]
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]


def check_exceptions(document: dict[str, Any]) -> list[dict[str, Any]]:
    """`[[operations]]` entries that switch a check off where it cannot be right."""
    exceptions: list[dict[str, Any]] = []
    if custom := _custom_methods(document):
        # `POST /v1/namespaces/x:setVerified` and `GET /v1/namespaces/{id}` overlap: in
        # google.api.http a `*` segment may contain `:`, so the router matches the verb-less
        # template too and its 405 truthfully lists GET and PATCH in `Allow`. OpenAPI's path
        # model cannot express that overlap; the other operations keep the check.
        exceptions.append(
            {
                "include-operation-id": custom,
                "checks": {"allow_header_conformance": {"enabled": False}},
            }
        )
    return exceptions


# Checks off for the whole run, each with its reason.
GLOBAL_CHECKS: dict[str, Any] = {
    # The document is derived from the proto descriptors: it gives shapes, not the domain rules
    # (a UUID `event_id`, `dimension=value` filters, known event names, a time range whose start
    # precedes its end, a display name of 1 to 100 characters…). Every service documents those
    # rejections as INVALID_ARGUMENT (400), so "schema-valid but rejected" is the contract here,
    # not a bug. 5xx answers to such requests are still caught by `not_a_server_error`.
    "positive_data_acceptance": {"enabled": False},
    # The only required header is `Authorization` (of the signed-in operations), and the check
    # wants 401 for its absence even when the rest of the request is malformed. Here the gateway
    # transcodes (so rejects a malformed body or query) before any service sees the request,
    # and services check their arguments before the caller; either way the answer is 400 with
    # the field named, which reveals nothing about resources. That a well-formed request
    # without credentials gets 401 (or 403), and never 2xx, is what `ignored_auth` checks.
    "missing_required_header": {"enabled": False},
}
