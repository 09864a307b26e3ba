"""Data for the registry benchmark: a generated catalogue bulk-loaded with COPY into the
registry's own tables (100,000 uploads would take hours and measure the scanner, not search),
the search queries run against it, and VSIX packages written straight to files.

The catalogue is what search reads: namespaces, and extensions marked visible and stable with
the newest version's fields copied onto the extension row (as `refresh_extension` does); the
search columns are then filled by the repository's own `SEARCH_COLUMNS` assignments."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import uuid
import zipfile
from pathlib import Path
from typing import BinaryIO

import psycopg

from symphony_registry.db.repository import SEARCH_COLUMNS
from symphony_registry.domain.names import skeleton

_WORD_TEXT = """
python java rust go ruby php swift kotlin scala haskell elixir erlang clojure dart lua perl
julia fortran cobol zig nim crystal ocaml fsharp csharp cpp markdown yaml toml json xml html
css sass less tailwind react vue angular svelte solid astro deno node bun docker kubernetes
helm terraform ansible vagrant git github gitlab bitbucket jira linear slack theme dark
light solarized dracula monokai nord gruvbox material icons snippets lint format prettier
eslint debug test coverage jest pytest mocha vitest cypress playwright remote ssh container
database sql postgres mysql redis mongo sqlite graphql rest grpc proto openapi swagger spell
grammar todo bookmark color bracket indent whitespace emoji vim emacs keymap sublime atom
notebook jupyter latex tex pdf csv excel preview live server
"""
WORDS = _WORD_TEXT.split()
CATEGORIES = ("Programming Languages", "Themes", "Linters", "Formatters", "Debuggers", "Other")
NAMESPACE_SIZE = 20  # extensions per namespace


def extension_names(count: int, seed: int = 7) -> list[tuple[str, str, list[str], str]]:
    """(namespace, name, words, description) for `count` extensions, deterministic."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        words = rng.sample(WORDS, 2)
        group = i // NAMESPACE_SIZE
        namespace = f"{WORDS[group % len(WORDS)]}{group}"
        name = f"{words[0]}-{words[1]}-{i}"
        description = " ".join(rng.choice(WORDS) for _ in range(12))
        out.append((namespace, name, words, description))
    return out


def load_catalogue(database_url: str, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """COPY `count` visible extensions (and their namespaces) into the registry's tables;
    returns (namespace, extension) of each."""
    rng = random.Random(seed + 1)
    rows = extension_names(count, seed)
    now = dt.datetime.now(dt.UTC)
    namespace_ids: dict[str, str] = {}
    with psycopg.connect(database_url) as conn:
        with conn.cursor().copy(
            "COPY registry.namespaces (id, name, skeleton, display_name, owner, verified)"
            " FROM STDIN"
        ) as copy:
            for namespace, *_ in rows:
                if namespace in namespace_ids:
                    continue
                namespace_ids[namespace] = str(uuid.uuid4())
                copy.write_row(
                    (
                        namespace_ids[namespace],
                        namespace,
                        skeleton(namespace),
                        namespace.title(),
                        f"users/bench-{namespace}",
                        rng.random() < 0.3,
                    )
                )
        with conn.cursor().copy(
            "COPY registry.extensions (id, namespace_id, name, skeleton, display_name,"
            " description, categories, tags, target_platforms, has_visible, has_stable,"
            " publish_time, download_count, review_count, rating_sum) FROM STDIN"
        ) as copy:
            for namespace, name, words, description in rows:
                reviews = rng.choice((0, 0, 1, 3, 10, 50))
                copy.write_row(
                    (
                        str(uuid.uuid4()),
                        namespace_ids[namespace],
                        name,
                        skeleton(name),
                        f"{words[0].title()} {words[1].title()}",
                        description,
                        [rng.choice(CATEGORIES)],
                        rng.sample(WORDS, 3),
                        ["universal"],
                        True,
                        True,
                        now - dt.timedelta(days=rng.randrange(1, 900)),
                        int(rng.paretovariate(1.2) * 10),
                        reviews,
                        sum(rng.randint(1, 5) for _ in range(reviews)),
                    )
                )
        conn.execute(
            f"UPDATE registry.extensions e SET {SEARCH_COLUMNS}"  # noqa: S608 - the repository's fixed assignments
            " FROM registry.namespaces n WHERE n.id = e.namespace_id"
        )
        conn.commit()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE registry.namespaces")
        conn.execute("VACUUM ANALYZE registry.extensions")
    return [(namespace, name) for namespace, name, _, _ in rows]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def search_queries(catalogue: list[tuple[str, str]], count: int, seed: int = 11) -> list[str]:
    """What people type: a word, a prefix, two words, a typo of a name, an exact id."""
    rng = random.Random(seed)
    queries = []
    for i in range(count):
        namespace, name = rng.choice(catalogue)
        parts = name.split("-")
        kind = i % 5
        if kind == 0:
            queries.append(rng.choice(WORDS))
        elif kind == 1:
            queries.append(rng.choice(WORDS)[:4])
        elif kind == 2:
            queries.append(f"{parts[0]} {parts[1]}")
        elif kind == 3:
            queries.append(typo(f"{parts[0]}{parts[1]}", rng))
        else:
            queries.append(f"{namespace}.{name}")
    return queries


# ---------------------------------------------------------------- packages

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension=".json" ContentType="application/json"/>'
    '<Default Extension=".vsixmanifest" ContentType="text/xml"/>'
    '<Default Extension=".bin" ContentType="application/octet-stream"/></Types>'
)


def write_vsix(target: Path | BinaryIO, publisher: str, name: str, payload_bytes: int) -> None:
    """A VSIX with `payload_bytes` of random (incompressible, stored) data split into ≤ 24 MiB
    files, written to `target` without holding it in memory."""
    manifest = {
        "name": name,
        "publisher": publisher,
        "version": "1.0.0",
        "displayName": f"{name} bench",
        "description": "A package for the registry benchmark",
        "engines": {"vscode": "^1.80.0"},
        "categories": ["Other"],
        "license": "MIT",
    }
    vsixmanifest = (
        '<?xml version="1.0" encoding="utf-8"?>\n<PackageManifest Version="2.0.0" '
        'xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011"><Metadata>'
        f'<Identity Language="en-US" Id="{name}" Version="1.0.0" Publisher="{publisher}" />'
        f"<DisplayName>{name}</DisplayName></Metadata><Installation>"
        '<InstallationTarget Id="Microsoft.VisualStudio.Code"/></Installation><Assets>'
        '<Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" '
        'Addressable="true" /></Assets></PackageManifest>'
    )
    piece = 24 * 1024 * 1024
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("extension.vsixmanifest", vsixmanifest)
        archive.writestr("extension/package.json", json.dumps(manifest))
        left, index = payload_bytes, 0
        while left > 0:
            size = min(piece, left)
            info = zipfile.ZipInfo(f"extension/data/part{index}.bin", (2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=False) as out:
                written = 0
                while written < size:
                    block = os.urandom(min(1024 * 1024, size - written))
                    out.write(block)
                    written += len(block)
            left -= size
            index += 1


def small_vsix(publisher: str, name: str) -> bytes:
    buffer = io.BytesIO()
    write_vsix(buffer, publisher, name, 4096)
    return buffer.getvalue()
