"""IN-4 harness: the analytics ingest fast path (`_fastingest.c` through
`adapters/fast_ingest.py`), a parser of client bytes written in C.

Input: a serialized `BatchIngestEventsRequest`, received at a fixed time (`NOW` below, which
the seeds' event times are near). Expected: the fast path defers (None) or stores exactly what
the Python path would store for the same bytes (`tests/unit/analytics/fastingest_oracle.py`);
no exception, and no crash of the process (the C code reads past nothing).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import atheris
from in4_support import fuzz

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root

with atheris.instrument_imports(include=["symphony_analytics"]):
    from symphony_analytics.adapters import fast_ingest
    from symphony_analytics.domain.catalogue import load_catalogue
    from tests.unit.analytics.fastingest_oracle import agrees, python_path

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SCHEMA = load_catalogue().current
ENCODE = fast_ingest.native_encoder(True)
if ENCODE is None:
    raise SystemExit("the native ingest path is not built (make install builds it)")


def test_one_input(data: bytes) -> None:
    problem = agrees(ENCODE(data, SCHEMA, NOW), python_path(data, SCHEMA, NOW))
    assert problem == "", problem


if __name__ == "__main__":
    fuzz(test_one_input)
