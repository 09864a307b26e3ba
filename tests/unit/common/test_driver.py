"""The statement form of `db/driver.py`: SQLAlchemy-style `:name` parameters become psycopg's
`%(name)s`, and nothing else in the SQL changes."""

from __future__ import annotations

from symphony_common.db.driver import Statement


def test_named_parameters_become_psycopg_placeholders() -> None:
    statement = Statement("SELECT * FROM t WHERE a = :a AND b = ANY(CAST(:bs AS text[]))")
    assert statement.query == b"SELECT * FROM t WHERE a = %(a)s AND b = ANY(CAST(%(bs)s AS text[]))"


def test_casts_literals_and_percent_signs_are_kept() -> None:
    statement = Statement("SELECT NULL::bytea, '{}', x % 2, interval '1 minute' FROM t WHERE k=:k")
    assert statement.query == (
        b"SELECT NULL::bytea, '{}', x %% 2, interval '1 minute' FROM t WHERE k=%(k)s"
    )
