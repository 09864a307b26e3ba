"""Search: exact id first, filters, explain, and the quality promise — for names with one typo
the intended extension is in the top 5 for at least 95% of queries (generated catalogue)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony_common.db import migrations
from symphony_registry.bootstrap import DEFINITION
from symphony_registry.domain import models as m
from symphony_registry.domain.names import skeleton
from symphony_registry.domain.semver import SemVer
from tests.common.stack import _database_name, fresh_database
from tests.integration.registry.conftest import RegistryHarness, start_registry

WORDS = [
    "python",
    "java",
    "rust",
    "docker",
    "kubernetes",
    "git",
    "markdown",
    "yaml",
    "json",
    "theme",
    "dark",
    "light",
    "icons",
    "snippets",
    "lint",
    "format",
    "debug",
    "test",
    "react",
    "vue",
    "angular",
    "svelte",
    "terraform",
    "ansible",
    "sql",
    "postgres",
    "redis",
    "graphql",
    "prettier",
    "eslint",
    "spell",
    "vim",
    "emacs",
    "jupyter",
    "latex",
    "csharp",
    "golang",
    "ruby",
    "php",
    "swift",
    "kotlin",
    "scala",
    "haskell",
    "elixir",
]
SUFFIXES = (
    "tools",
    "support",
    "helper",
    "pack",
    "runner",
    "server",
    "preview",
    "extension",
    "lens",
    "assist",
)


def catalogue(n: int, rng: random.Random) -> list[tuple[str, str, str, list[str]]]:
    seen: set[str] = set()
    out = []
    while len(out) < n:
        a, b = rng.sample(WORDS, 2)
        name = (
            f"{a}-{b}-{rng.choice(SUFFIXES)}"
            if rng.random() < 0.5
            else f"{a}{rng.choice(SUFFIXES)}"
        )
        if name in seen:
            continue
        seen.add(name)
        out.append((f"pub{len(out) % 40}", name, f"{a.title()} {b.title()}", [a, b]))
    return out


def one_typo(word: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    i = rng.choice(letters[1:] or letters)
    kind = rng.choice(("delete", "replace", "swap", "insert"))
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "replace":
        return (
            word[:i]
            + rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != word[i]])
            + word[i + 1 :]
        )
    if kind == "swap" and i + 1 < len(word) and word[i + 1] != word[i]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i:]


@pytest.fixture(scope="module")
async def search_registry(
    admin_database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RegistryHarness]:
    with fresh_database(admin_database_url, _database_name("regsearch")) as url:
        await asyncio.to_thread(
            migrations.upgrade, url, DEFINITION.schema, DEFINITION.migrations_dir
        )
        harness = await start_registry(
            url,
            redis_url,
            tmp_path_factory.mktemp("spool-search"),
            worker_enabled=False,
            cache_enabled=False,
        )
        try:
            yield harness
        finally:
            await harness.channel.close()
            await harness.running.stop(0.5)


async def seed(reg: RegistryHarness, items: list[tuple[str, str, str, list[str]]]) -> None:
    """Published, PASSED versions written through the repository (the ranking is under test
    here, not the upload pipeline, which the other tests cover)."""
    service = reg.service
    async with service._uow() as uow:
        namespaces: dict[str, m.Namespace] = {}
        for i, (ns_name, name, display, tags) in enumerate(items):
            ns = namespaces.get(ns_name)
            if ns is None:
                ns = m.Namespace(id=str(uuid.uuid4()), name=ns_name, owner="users/seed")
                await uow.repo.insert_namespace(ns, skeleton(ns_name))
                namespaces[ns_name] = ns
            ext_id = await uow.repo.insert_extension(ns, name, skeleton(name))
            v = m.Version(
                id=str(uuid.uuid4()),
                extension_id=ext_id,
                namespace=ns_name,
                extension=name,
                version="1.0.0",
                target_platform="universal",
                display_name=display,
                description=f"{display} for your editor",
                tags=tags,
                categories=["Programming Languages" if i % 2 else "Themes"],
                package_size=1,
                package_sha256=f"{i:064x}",
                scan_state=m.ScanState.PASSED,
                publisher_id="seed",
                engines=[("vscode", "^1.80.0")],
            )
            await uow.repo.insert_version(v, SemVer.parse("1.0.0").sort_key(), [], {})  # type: ignore[union-attr]
            await uow.repo.refresh_extension(ext_id)
        await uow.commit()


async def test_search_quality_and_behaviour(search_registry: RegistryHarness) -> None:
    rng = random.Random(20240601)
    items = catalogue(400, rng)
    await seed(search_registry, items)
    stub = search_registry.stub

    hits = 0
    queries = rng.sample(items, 200)
    misses = []
    for ns_name, name, _display, _tags in queries:
        typo = one_typo(name, rng)
        result = await stub.SearchExtensions(spb.SearchExtensionsRequest(query=typo, page_size=5))
        top = [r.extension.extension_id for r in result.results]
        if f"{ns_name}.{name}" in top:
            hits += 1
        else:
            misses.append((typo, name, top))
    assert hits / len(queries) >= 0.95, misses[:10]

    # Exact id first, with explain.
    ns_name, name, _, tags = items[7]
    exact = await stub.SearchExtensions(
        spb.SearchExtensionsRequest(query=f"{ns_name}.{name}", explain=True, page_size=3)
    )
    assert exact.results[0].extension.extension_id == f"{ns_name}.{name}"
    parts = exact.results[0].explanation
    assert parts.exact_id == 10 and parts.score > 0 and parts.verified_factor == 0.5
    # Prefix.
    prefix = await stub.SearchExtensions(
        spb.SearchExtensionsRequest(query=name[: max(4, len(name) // 2)], page_size=50)
    )
    assert f"{ns_name}.{name}" in [r.extension.extension_id for r in prefix.results]
    # Filters, sorts and paging.
    themes = await stub.SearchExtensions(
        spb.SearchExtensionsRequest(category="Themes", page_size=1000)
    )
    assert themes.total_size == 200 and all(
        "Themes" in r.extension.categories for r in themes.results
    )
    tagged = await stub.SearchExtensions(spb.SearchExtensionsRequest(tag=tags[0], page_size=1000))
    assert tagged.results and all(tags[0] in r.extension.tags for r in tagged.results)
    page1 = await stub.SearchExtensions(
        spb.SearchExtensionsRequest(page_size=150, sort_by=spb.SORT_BY_UPDATED)
    )
    page2 = await stub.SearchExtensions(
        spb.SearchExtensionsRequest(
            page_size=150, sort_by=spb.SORT_BY_UPDATED, page_token=page1.next_page_token
        )
    )
    ids = [r.extension.uid for r in page1.results] + [r.extension.uid for r in page2.results]
    assert len(ids) == len(set(ids)) == 300
    assert page1.results[0].extension.latest_version.version == "1.0.0"
