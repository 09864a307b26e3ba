"""Search in PostgreSQL: full text with field weights plus pg_trgm for typos and prefixes.

`score = text_score × (1 + relevance) × verified_factor × deprecated_factor`, where
`text_score = 10·exact_id + 5·name + 3·tags + 2·namespace + 1·description + 5·fuzzy`: each field
part is the share of query words that field matches (as a prefix), `fuzzy` is the trigram word
similarity of the query to `namespace.name display name` (typos), and `relevance` mixes the
Bayesian rating (0.4), downloads (0.4, logarithmic) and recency (0.2, half-life ≈ 4 months).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from symphony_registry.domain import models as m

if TYPE_CHECKING:
    from symphony_registry.db.repository import SqlRegistryRepository

MAX_TOKENS = 16
FUZZY_THRESHOLD = 0.3

_SQL = """
WITH qs AS (
  -- One prefix query per word and field weight, parsed once (not per candidate row).
  SELECT ARRAY(SELECT to_tsquery('simple', t || ':*A') FROM unnest(CAST(:tokens AS text[])) t) AS a,
    ARRAY(SELECT to_tsquery('simple', t || ':*B') FROM unnest(CAST(:tokens AS text[])) t) AS b,
    ARRAY(SELECT to_tsquery('simple', t || ':*C') FROM unnest(CAST(:tokens AS text[])) t) AS c,
    ARRAY(SELECT to_tsquery('simple', t || ':*D') FROM unnest(CAST(:tokens AS text[])) t) AS d
), cand AS MATERIALIZED (
  -- Materialized so that each candidate's word similarity is computed once, not per use.
  SELECT e.id, e.download_count, e.publish_time, e.deprecated, n.verified, e.review_count,
    e.rating_sum,
    CASE WHEN :ql = '' THEN 0.0 WHEN lower(n.name || '.' || e.name) = :ql THEN 1.0
         WHEN lower(e.name) = :ql THEN 0.6 ELSE 0.0 END::float8 AS exact_id,
    COALESCE(sh.name_part, 0.0) AS name_part,
    COALESCE(sh.tags_part, 0.0) AS tags_part,
    COALESCE(sh.ns_part, 0.0) AS ns_part,
    COALESCE(sh.desc_part, 0.0) AS desc_part,
    -- Only a candidate the trigram arm found can reach the fuzzy threshold (its similarity is
    -- what `<%` tested): the others' similarity would score 0, so it is not computed.
    CASE WHEN {fuzzy_found} THEN public.word_similarity(:ql, e.search_text)
         ELSE 0.0 END::float8 AS fuzzy
  FROM registry.extensions e {candidates} JOIN registry.namespaces n ON n.id = e.namespace_id
  CROSS JOIN qs
  CROSS JOIN LATERAL (
    -- float8 throughout: numeric arithmetic over every candidate cost more than the matching.
    SELECT avg((e.search_tsv @@ u.a)::int)::float8 AS name_part,
      avg((e.search_tsv @@ u.b)::int)::float8 AS tags_part,
      avg((e.search_tsv @@ u.c)::int)::float8 AS ns_part,
      avg((e.search_tsv @@ u.d)::int)::float8 AS desc_part
    FROM unnest(qs.a, qs.b, qs.c, qs.d) AS u (a, b, c, d)
  ) sh
  WHERE e.has_visible {filters}
), scored AS (
  SELECT c.*,
    CASE WHEN c.review_count > 0
         THEN (:prior * :mean + c.rating_sum) / (:prior + c.review_count) ELSE 0.0 END::float8
      AS bayes,
    CASE WHEN :ql = '' THEN 1.0
         ELSE 10 * c.exact_id + 5 * c.name_part + 3 * c.tags_part + 2 * c.ns_part
         + c.desc_part + 5 * (CASE WHEN c.fuzzy >= :fz THEN c.fuzzy ELSE 0.0 END) END::float8
      AS text_score
  FROM cand c
), hits AS MATERIALIZED (
  -- Materialized: both the page and the total read it.
  SELECT s.*,
    s.bayes / 5.0 AS rating_p,
    LEAST(ln(1 + s.download_count) / ln(1 + 1000000.0), 1.0)::float8 AS downloads_p,
    COALESCE(exp(-extract(epoch FROM (now() - s.publish_time))::float8 / 86400.0 / 180.0), 0.0)
      AS recency_p,
    CASE WHEN s.verified THEN 1.0 ELSE 0.5 END::float8 AS vf,
    CASE WHEN s.deprecated THEN 0.5 ELSE 1.0 END::float8 AS df
  FROM scored s
  WHERE s.text_score > 0
)
SELECT r.*, 0.4 * r.rating_p + 0.4 * r.downloads_p + 0.2 * r.recency_p AS relevance,
  r.text_score * (1 + 0.4 * r.rating_p + 0.4 * r.downloads_p + 0.2 * r.recency_p) * r.vf * r.df
    AS score,
  (SELECT count(*) FROM hits) AS total
FROM hits r
ORDER BY {order}, r.id
OFFSET :offset LIMIT :limit
"""

_ORDER = {
    m.SortBy.RELEVANCE: "score DESC",
    m.SortBy.DOWNLOADS: "r.download_count DESC, score DESC",
    m.SortBy.RATING: "r.bayes DESC, score DESC",
    m.SortBy.UPDATED: "r.publish_time DESC NULLS LAST",
}


def tokens_of(text: str) -> list[str]:
    return [t for t in re.findall(r"[^\W_]+", text.lower())][:MAX_TOKENS]


SETUP_SQL = f"SET LOCAL pg_trgm.word_similarity_threshold = {FUZZY_THRESHOLD}"


def statement(q: m.SearchQuery, rating_prior: float) -> tuple[str, dict[str, Any]]:
    """The search SQL and its parameters (run after SETUP_SQL in the same transaction); the
    benchmark runs exactly this statement bare."""
    ql = " ".join(q.text.lower().split())
    tokens = tokens_of(q.text)
    filters = []
    params: dict[str, Any] = {
        "ql": ql,
        "tokens": tokens,
        "prior": rating_prior,
        "mean": q.global_mean,
        "fz": FUZZY_THRESHOLD,
        "offset": q.offset,
        "limit": q.limit,
    }
    if q.category:
        filters.append(
            "EXISTS (SELECT 1 FROM unnest(e.categories) c WHERE lower(c) = lower(:category))"
        )
        params["category"] = q.category
    if q.tag:
        filters.append("EXISTS (SELECT 1 FROM unnest(e.tags) t WHERE lower(t) = lower(:tag))")
        params["tag"] = q.tag
    if q.target_platform:
        filters.append("(:tp = ANY(e.target_platforms) OR 'universal' = ANY(e.target_platforms))")
        params["tp"] = q.target_platform
    if not q.include_pre_release:
        filters.append("e.has_stable")
    if ql:
        # Each arm is its own indexed SELECT (the GIN full-text and trigram indexes, and the
        # (namespace, lower(name)) key for an exact id), joined by UNION: ORed into one
        # condition, the planner may pick a sequential scan that computes the trigram word
        # similarity of every extension (~20× slower), since it cannot tell that costs more.
        # Each arm says whether it is the trigram one (see `fuzzy` in the SQL).
        arms = [
            "SELECT x.id, true FROM registry.extensions x"
            " WHERE x.has_visible AND :ql <% x.search_text"
        ]
        if tokens:
            params["tsq"] = " | ".join(f"{t}:*" for t in tokens)
            arms.insert(
                0,
                "SELECT x.id, false FROM registry.extensions x WHERE x.has_visible"
                " AND x.search_tsv @@ to_tsquery('simple', :tsq)",
            )
        if "." in ql:
            params["exact_ns"], params["exact_ext"] = ql.split(".", 1)
            arms.append(
                "SELECT x.id, false FROM registry.extensions x WHERE lower(x.name) = :exact_ext"
                " AND x.namespace_id = (SELECT y.id FROM registry.namespaces y"
                " WHERE lower(y.name) = :exact_ns)"
            )
        candidates = (
            "JOIN (SELECT a.id, bool_or(a.fuzzy) AS fuzzy FROM ("  # noqa: S608 - fixed arms; values bound
            + " UNION ALL ".join(arms)
            + ") a (id, fuzzy) GROUP BY a.id) m ON m.id = e.id"
        )
        fuzzy_found = "m.fuzzy"
    else:
        candidates, fuzzy_found = "", "false"
    sql = _SQL.format(
        candidates=candidates,
        fuzzy_found=fuzzy_found,
        filters="".join(f" AND {f}" for f in filters),
        order=_ORDER[q.sort_by],
    )
    return sql, params


async def search(
    repo: SqlRegistryRepository, q: m.SearchQuery
) -> tuple[list[tuple[str, m.ScoreParts]], int]:
    sql, params = statement(q, repo.rating_prior)
    ql = params["ql"]
    await repo._exec(SETUP_SQL)
    rows = (await repo._exec(sql, params)).all()
    total = int(rows[0].total) if rows else 0
    hits = []
    for r in rows:
        parts = m.ScoreParts(
            score=float(r.score),
            text_score=float(r.text_score),
            exact_id=float(r.exact_id) * 10,
            name=float(r.name_part) * 5,
            tags=float(r.tags_part) * 3,
            namespace=float(r.ns_part) * 2,
            description=float(r.desc_part),
            fuzzy=(5 * float(r.fuzzy) if r.fuzzy >= FUZZY_THRESHOLD else 0.0) if ql else 0.0,
            relevance=float(r.relevance),
            rating=0.4 * float(r.rating_p),
            downloads=0.4 * float(r.downloads_p),
            recency=0.2 * float(r.recency_p),
            verified_factor=float(r.vf),
            deprecated_factor=float(r.df),
        )
        hits.append((str(r.id), parts))
    return hits, total
