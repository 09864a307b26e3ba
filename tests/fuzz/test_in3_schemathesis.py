"""IN-3: Schemathesis against the gateway's OpenAPI document, the whole system as real processes.

Every built-in check (`--checks all`), valid and invalid inputs (`--mode all`), all phases
(examples, coverage, fuzzing, stateful). Two registered users, signed in through the gateway,
are the authenticated contexts (a Web Fuzzing Commons document with their bearer tokens, listed
as `peers`), so `ignored_auth` probes the operations the contract says need a caller
(`in3_spec.SIGNED_IN`) and `object_level_authorization` replays one user's reads as the other.
The operations that end the caller's session or account run in a second pass with two users of
their own. Pass criterion: no failure of any check and no error of the run.

Sizes: `in3_config` (CI a few examples per operation, `SYMPHONY_TEST_TIER=nightly` 100).
Reproduce a run with `SYMPHONY_IN3_SEED=<seed from the failure message>`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from symphony_common.devstack import RunningStack
from tests.fuzz import in3_config as cfg
from tests.fuzz.in3_run import Outcome, build_config, load_document, run, write_wfc
from tests.fuzz.in3_spec import only, operations

pytestmark = pytest.mark.e2e


def _sign_up(gateway_url: str, name: str) -> str:
    """Register a user and sign in through the gateway; the access token."""
    email = f"in3-{name}-{uuid.uuid4().hex[:10]}@example.com"
    password = f"in3 {uuid.uuid4().hex} {name}"
    # Each user from an address of its own (the gateway trusts loopback's x-forwarded-for), so
    # the per-address limits of sign-up and sign-in never see the fixtures as one client.
    headers = {"x-forwarded-for": f"198.51.100.{sum(map(ord, name)) % 250 + 1}"}
    with httpx.Client(base_url=gateway_url, timeout=30, headers=headers) as http:
        created = http.post(
            "/v1/users",
            json={"user": {"email": email, "displayName": name}, "password": password},
        )
        assert created.status_code == 200, created.text
        login = http.post("/v1/auth:login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        return login.json()["accessToken"]


@pytest.fixture(scope="module")
def document(stack: RunningStack) -> dict:
    return load_document(stack.gateway_url)


def _run(
    stack: RunningStack, document: dict, names: tuple[str, str], wfc_path: Path, seconds: int
) -> Outcome:
    users = {name: _sign_up(stack.gateway_url, name) for name in names}
    config = build_config(
        gateway_url=stack.gateway_url,
        wfc_path=write_wfc(wfc_path, users),
        peers=list(users),
        max_examples=cfg.MAX_EXAMPLES,
        stateful_steps=cfg.STATEFUL_STEPS,
        seed=cfg.SEED,
        workers=cfg.WORKERS,
        operations=cfg.check_exceptions(document),
        checks=cfg.GLOBAL_CHECKS,
        max_time=seconds,
        phases=cfg.PHASES,
    )
    outcome = run(document, config)
    outcome.seed = config.seed
    return outcome


def _assert_clean(outcome: Outcome, expected_operations: int) -> None:
    print(f"IN-3: {outcome.summary()}; seed {outcome.seed}")  # shown with -s / -rA
    report = "\n\n".join(str(f) for f in outcome.findings)
    errors = "\n".join(outcome.errors)
    assert not outcome.findings and not outcome.errors, (
        f"{outcome.summary()}; seed {outcome.seed}\n"
        f"{len(outcome.findings)} failure(s):\n{report}\n\nerrors:\n{errors}"
    )
    # A run that reached nothing proves nothing.
    assert len(outcome.operations) >= expected_operations, outcome.summary()
    assert outcome.statuses and max(outcome.statuses) < 500, outcome.summary()


def test_in3_every_operation_passes_every_check(
    stack: RunningStack, document: dict, tmp_path: Path
) -> None:
    keep = set(operations(document)) - cfg.SESSION_ENDING
    outcome = _run(
        stack, only(document, keep), ("alice", "bob"), tmp_path / "wfc.json", cfg.MAX_SECONDS
    )
    _assert_clean(outcome, len(keep))


def test_in3_session_ending_operations_pass_every_check(
    stack: RunningStack, document: dict, tmp_path: Path
) -> None:
    outcome = _run(
        stack,
        only(document, cfg.SESSION_ENDING),
        ("carol", "dave"),
        tmp_path / "wfc.json",
        cfg.SESSION_PASS_SECONDS,
    )
    _assert_clean(outcome, len(cfg.SESSION_ENDING))
