"""IN-4: coverage-guided fuzzing (atheris, libFuzzer) of the code that parses client bytes: the
registry's VSIX validator, its manifest parsers and SemVer/range parser, the shared token
verification, the sync service's Push decoding and the analytics ingest fast path (C). The
harnesses, their input formats, seeds and dictionaries are in `tests/fuzz/atheris/` (see its
README).

Each harness runs as a process of its own on a temporary copy of its committed corpus, with
`-timeout=1` (an input running over 1 s fails) and `-rss_limit_mb=512`. Pass: exit status 0
and no crash-/timeout-/oom-/leak- file. Budget per harness: 20 s (6 harnesses: ~2 CPU-minutes
of `make test`), 60 s with `SYMPHONY_TEST_TIER=nightly`, or `SYMPHONY_FUZZ_IN4_SECONDS`.
`SYMPHONY_FUZZ_IN4_KEEP_CORPUS=1` merges what a clean run found into the committed corpus
(`-merge=1`: only inputs that add coverage). Every committed crash input
(`crashes/<harness>/`) is replayed: a crash stays a failing test until its code is fixed.
"""

from __future__ import annotations

import base64
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fuzz.harness import nightly

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent / "atheris"
ROOT = HERE.parents[2]
HARNESSES = ("vsix", "manifest", "semver", "tokens", "sync_push", "fastingest")
SECONDS = int(os.environ.get("SYMPHONY_FUZZ_IN4_SECONDS") or (60 if nightly() else 20))
LIMITS = ("-timeout=1", "-rss_limit_mb=512")
CRASH_FILES = sorted(HERE.glob("crashes/*/*"))


def _libfuzzer(harness: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(HERE / f"fuzz_{harness}.py"), *LIMITS, *args]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, errors="replace", timeout=timeout
    )


def _failure(output: str) -> str:
    """The part of libFuzzer's output that says what went wrong (the Python traceback)."""
    start = max(output.rfind("=== Uncaught Python exception"), output.rfind("==ERROR"), 0)
    return output[start:][-4000:]


def _cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _skip_unbuilt(harness: str) -> None:
    """The fast-path harness needs the extension `make install` builds with a C compiler."""
    if harness != "fastingest" or os.environ.get("SYMPHONY_REQUIRE_NATIVE") == "1":
        return
    from symphony_analytics.adapters import fast_ingest

    if fast_ingest.native_encoder(True) is None:
        pytest.skip("the native ingest path is not built (no C compiler)")


@pytest.mark.parametrize("harness", HARNESSES)
def test_harness_finds_no_crash_timeout_or_oom(harness: str, tmp_path: Path) -> None:
    _skip_unbuilt(harness)
    corpus, artifacts = tmp_path / "corpus", tmp_path / "artifacts"
    shutil.copytree(HERE / "corpus" / harness, corpus)
    artifacts.mkdir()
    cpu, started = _cpu_seconds_of_children(), time.monotonic()
    run = _libfuzzer(
        harness,
        f"-max_total_time={SECONDS}",
        f"-dict={HERE / 'dicts' / f'{harness}.dict'}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        str(corpus),
        timeout=SECONDS * 3 + 120,
    )
    cpu, wall = _cpu_seconds_of_children() - cpu, time.monotonic() - started
    output = run.stderr + run.stdout
    execs = int(m.group(1)) if (m := re.search(r"number_of_executed_units:\s*(\d+)", output)) else 0
    print(  # shown with -s / -rA; CPU time (start-up included) is steady on a busy machine
        f"IN-4 {harness}: {execs} execs in {wall:.0f} s ({execs / wall:,.0f}/s wall, "
        f"{execs / max(cpu, 1e-9):,.0f}/s of CPU), corpus {len(list(corpus.iterdir()))} files"
    )
    found = sorted(artifacts.iterdir())
    reproducers = "\n".join(
        f"  {path.name} (base64): {base64.b64encode(path.read_bytes()[:6000]).decode()}"
        for path in found
    )
    assert run.returncode == 0 and not found, (
        f"fuzz_{harness}.py exited {run.returncode}, artifacts: {[p.name for p in found]}\n"
        f"{_failure(output)}\n{reproducers}\n"
        f"Keep the input as tests/fuzz/atheris/crashes/{harness}/crash-<what>; reproduce with "
        f".venv/bin/python tests/fuzz/atheris/fuzz_{harness}.py <file>"
    )
    assert execs > 0, f"fuzz_{harness}.py ran no input:\n{output[-3000:]}"
    if os.environ.get("SYMPHONY_FUZZ_IN4_KEEP_CORPUS") == "1":
        merge = _libfuzzer(
            harness, "-merge=1", str(HERE / "corpus" / harness), str(corpus), timeout=600
        )
        assert merge.returncode == 0, merge.stderr[-3000:]


@pytest.mark.parametrize(
    "crash", CRASH_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CRASH_FILES]
)
def test_committed_crash_input_no_longer_crashes(crash: Path) -> None:
    _skip_unbuilt(crash.parent.name)
    run = _libfuzzer(crash.parent.name, str(crash), timeout=120)
    assert run.returncode == 0, _failure(run.stderr + run.stdout)
