"""IN-3: run Schemathesis' engine (what `st run` drives) against the running gateway and collect
its failures as readable records.

`run(...)` loads the served `/openapi.json`, lays the signed-in requirements over it
(`in3_spec.classify`), configures every check and the phases, executes the engine, and returns
`Finding`s (one per distinct failure: operation, check, message, the request and the response)
plus counters. The caller asserts there are none.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.fuzz.in3_spec import classify


@dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    title: str
    message: str
    request: str
    response: str

    def __str__(self) -> str:
        return (
            f"[{self.check}] {self.operation}: {self.title}\n  {self.message.strip()}\n"
            f"  request: {self.request}\n  response: {self.response}"
        )


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    requests: int = 0
    per_phase: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    seconds: float = 0.0
    stop_reason: str = ""
    seed: int | None = None

    def summary(self) -> str:
        return (
            f"{self.requests} requests over {len(self.operations)} operations in "
            f"{self.seconds:.0f} s ({self.stop_reason}); "
            f"statuses {dict(sorted(self.statuses.items()))}; "
            f"recorded per phase {dict(self.per_phase)}; slowest {self.slowest[:3]}"
        )


def _clip(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _describe_request(request: Any) -> str:
    body = request.body
    if body is not None:
        try:
            shown = body.decode() if isinstance(body, bytes) else str(body)
        except UnicodeDecodeError:
            shown = repr(body[:200])
        return f"{request.method} {request.uri} body={_clip(shown, 400)}"
    return f"{request.method} {request.uri}"


def _describe_response(response: Any) -> str:
    if response is None:
        return "(no response)"
    text = response.content.decode("utf-8", "replace")
    return f"{response.status_code} {_clip(text, 400)}"


def load_document(gateway_url: str) -> dict[str, Any]:
    response = httpx.get(f"{gateway_url}/openapi.json", timeout=30)
    response.raise_for_status()
    return classify(response.json())


def build_config(
    *,
    gateway_url: str,
    wfc_path: Path,
    peers: list[str],
    max_examples: int,
    stateful_steps: int,
    seed: int | None,
    workers: int,
    operations: list[dict[str, Any]],
    checks: dict[str, Any] | None = None,
    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing", "stateful"),
    max_time: int | None = None,
) -> Any:
    from schemathesis.config import SchemathesisConfig

    data: dict[str, Any] = {
        "base-url": gateway_url,
        "workers": workers,
        "request-timeout": 20,
        # `GET /v1/sync:watch` is a live feed that stays open: its first event (CAUGHT_UP) comes
        # at once, the next only with the next heartbeat; read one and go.
        "max-stream-events": 1,
        # Every built-in check (`--checks all`); the per-operation tables below narrow some.
        "checks": {"enabled": True, **(checks or {})},
        # `--mode all`: valid and invalid inputs.
        "generation": {
            "mode": "all",
            "max-examples": max_examples,
            "database": "none",
            "deterministic": False,
        },
        "phases": {
            "examples": {"enabled": "examples" in phases},
            "coverage": {"enabled": "coverage" in phases},
            "fuzzing": {"enabled": "fuzzing" in phases},
            "stateful": {"enabled": "stateful" in phases, "max-steps": stateful_steps},
        },
        "auth": {"wfc": {"path": str(wfc_path), "peers": peers}},
        "cache": {"enabled": False},
        "operations": operations,
    }
    if seed is not None:
        data["seed"] = seed
    if max_time is not None:
        data["max-time"] = max_time
    return SchemathesisConfig.from_dict(data)


def run(document: dict[str, Any], config: Any) -> Outcome:
    import schemathesis
    from schemathesis.engine import events, from_schema

    schema = schemathesis.openapi.from_dict(document, config=config)
    outcome = Outcome()
    seen: set[tuple[str, str, str]] = set()
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            recorder = event.recorder
            outcome.per_phase[str(getattr(event, "phase", "fuzz"))] += len(recorder.interactions)
            for case_id, interaction in recorder.interactions.items():
                outcome.requests += 1
                node = recorder.cases.get(case_id)
                if node is not None:
                    outcome.operations.add(node.value.operation.label)
                if interaction.response is not None:
                    outcome.statuses[interaction.response.status_code] += 1
                    outcome.slowest.append(
                        (interaction.response.elapsed, _describe_request(interaction.request)[:120])
                    )
                    outcome.slowest = sorted(outcome.slowest, reverse=True)[:5]
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    key = (failure.operation or recorder.label, check.name, failure.title)
                    if key in seen:
                        continue
                    seen.add(key)
                    interaction = recorder.interactions.get(case_id)
                    outcome.findings.append(
                        Finding(
                            operation=failure.operation or recorder.label,
                            check=check.name,
                            title=failure.title,
                            message=_clip(failure.message, 800),
                            request=_describe_request(interaction.request) if interaction else "?",
                            response=(
                                _describe_response(interaction.response) if interaction else "?"
                            ),
                        )
                    )
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {_clip(str(event.info.format()), 800)}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            outcome.stop_reason = str(event.stop_reason)
    outcome.seconds = time.monotonic() - started
    return outcome


def write_wfc(path: Path, users: dict[str, str]) -> Path:
    """A Web Fuzzing Commons auth document: one entry per user, a fixed bearer header each."""
    path.write_text(
        json.dumps(
            {
                "auth": [
                    {
                        "name": name,
                        "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}],
                    }
                    for name, token in users.items()
                ]
            }
        )
    )
    return path
