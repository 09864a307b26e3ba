"""`python -m bench [scenario ...]`: run the scenarios, print one table, write JSON under
bench/results/. Scenario modules live in bench/scenarios/ and are run in the order below."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback

from bench.context import context_from_env, drop_bench_database
from bench.harness import ROOT, RUNS, SECONDS, Row, cores

SCENARIOS = ["baselines", "framework", "gateway", "auth", "sync", "registry", "analytics"]


def available() -> list[str]:
    return [s for s in SCENARIOS if (ROOT / "bench" / "scenarios" / f"{s}.py").exists()]


def format_value(value: float, unit: str) -> str:
    if unit == "ms" or abs(value) < 100:
        return f"{value:.3f}"
    return f"{value:,.0f}"


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'scenario':<14} {'metric':<52} {'project':>12} {'baseline':>12} {'ratio':>8}  "
        f"{'target':<14} ok"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.scenario:<14} {row.metric[:52]:<52} {format_value(row.project, row.unit):>12} "
            f"{format_value(row.baseline, row.unit):>12} {row.ratio:>8.3f}  {row.target:<14} "
            f"{'yes' if row.passed else 'NO'}"
        )
        for note in row.notes:
            print(f"{'':<14}   {note}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("scenarios", nargs="*", choices=[[], *available()], default=[])
    args = parser.parse_args()
    chosen = args.scenarios or available()
    ctx = context_from_env()
    rows: list[Row] = []
    failed: list[str] = []
    try:
        for name in chosen:
            print(f"== {name}", file=sys.stderr, flush=True)
            module = importlib.import_module(f"bench.scenarios.{name}")
            try:
                rows.extend(module.run(ctx))
            except Exception:
                traceback.print_exc()
                failed.append(name)
    finally:
        drop_bench_database(ctx)
    print_table(rows)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    payload = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cores": cores(), "python": platform.python_version(), "load": os.getloadavg()},
        "runs_per_figure": RUNS,
        "seconds_per_run": SECONDS,
        "rows": [row.as_dict() for row in rows],
        "failed_scenarios": failed,
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (results / f"bench-{stamp}.json", results / "latest.json"):
        path.write_text(json.dumps(payload, indent=2))
    print(f"\nwritten: bench/results/bench-{stamp}.json", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
