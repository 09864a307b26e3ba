"""Issue 5 as a publisher and a user live it: create a namespace on the website, make a
personal access token for it, `symphony publish` a VSIX, wait for the checks, find it with
search, read it, download it through the raw route (Range, SHA-256 header), `symphony get`
it with the signature verified, review it, and yank it."""

from __future__ import annotations

import hashlib
import uuid

import httpx

from symphony_common.devstack import RunningStack
from tests.e2e.conftest import Cli, publish_extension, register
from tests.integration.registry.vsix import build_vsix


def test_publish_search_download_review_yank(
    web: httpx.Client, stack: RunningStack, cli: Cli
) -> None:
    owner = register(web, stack, "publisher", name="Pat Publisher")
    namespace = f"ada{uuid.uuid4().hex[:8]}"
    ext_id = f"{namespace}.linter"

    # A token scoped to someone else's namespace cannot publish here.
    wrong = web.post(
        "/v1/users/me/tokens",
        headers=owner.auth,
        json={
            "personalAccessToken": {"displayName": "other", "scopes": ["registry.publish:other-ns"]}
        },
    ).json()["token"]
    vsix, _ = publish_extension(web, stack, cli, owner, namespace)
    data = vsix.read_bytes()
    refused = cli.run(
        "publish", str(cli.home / "again.vsix"), "--token", wrong, check=False
    )  # no such file: a clear message, no traceback
    assert refused.returncode == 1 and "no such file" in refused.stderr, refused.stderr
    (cli.home / "v2.vsix").write_bytes(build_vsix(namespace, "linter", "1.3.0"))
    refused = cli.run("publish", str(cli.home / "v2.vsix"), "--token", wrong, check=False)
    assert refused.returncode == 1, refused.stdout
    assert "PERMISSION_DENIED" in refused.stderr and "Traceback" not in refused.stderr

    # Search: by name, and with a typo.
    found = web.get("/v1/extensions:search", params={"query": "linter"})
    assert found.status_code == 200, found.text
    ids = [r["extension"]["extensionId"] for r in found.json()["results"]]
    assert ext_id in ids, ids
    typo = web.get("/v1/extensions:search", params={"query": "lintr ada"}).json()
    assert ext_id in [r["extension"]["extensionId"] for r in typo["results"]][:5], typo
    cli_search = cli.run("search", "linter")
    assert ext_id in cli_search.stdout and "1.2.0" in cli_search.stdout, cli_search.stdout

    # The extension page.
    page = web.get(f"/v1/namespaces/{namespace}/extensions/linter")
    assert page.status_code == 200, page.text
    ext = page.json()
    assert ext["displayName"] == "Ada Linter"
    latest = ext["latestVersion"]
    assert latest["version"] == "1.2.0" and latest["scanState"] == "SCAN_STATE_PASSED"
    assert latest["packageSha256"] == hashlib.sha256(data).hexdigest()
    scan = web.get(f"/v1/{latest['scan']}", headers=owner.auth)
    assert scan.status_code == 200, scan.text
    assert scan.json()["state"] == "SCAN_STATE_PASSED"
    versions = web.get(f"/v1/namespaces/{namespace}/extensions/linter/versions").json()
    assert [v["version"] for v in versions["versions"]] == ["1.2.0"]

    # Raw download: Range, Content-Length, SHA-256 header, ETag.
    url = f"/v1/namespaces/{namespace}/extensions/linter/versions/1.2.0:download"
    part = web.get(url, headers={"range": "bytes=0-99"})
    assert part.status_code == 206, part.text
    assert part.content == data[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(data)}"
    full = web.get(url)
    assert full.status_code == 200
    assert full.content == data
    assert int(full.headers["content-length"]) == len(data)
    assert full.headers["x-checksum-sha256"] == hashlib.sha256(full.content).hexdigest()
    assert full.headers["accept-ranges"] == "bytes"
    assert web.get(url, headers={"if-none-match": full.headers["etag"]}).status_code == 304
    assert web.get(url, headers={"range": f"bytes={len(data) + 10}-"}).status_code == 416

    # `symphony get` downloads and checks the registry's signature.
    out_dir = cli.home / "downloads"
    out_dir.mkdir()
    got = cli.run("get", ext_id, "-o", str(out_dir))
    assert "signature verified" in got.stdout, got.stdout
    (downloaded,) = out_dir.iterdir()
    assert downloaded.read_bytes() == data

    # A review by another user shows on the extension.
    reviewer = register(web, stack, "reviewer", name="Rita Reviewer")
    review = web.post(
        f"/v1/namespaces/{namespace}/extensions/linter/reviews",
        headers=reviewer.auth,
        json={"rating": 4, "title": "Handy", "text": "Catches real issues."},
    )
    assert review.status_code == 200, review.text
    assert review.json()["authorDisplayName"] == "Rita Reviewer"
    twice = web.post(
        f"/v1/namespaces/{namespace}/extensions/linter/reviews",
        headers=reviewer.auth,
        json={"rating": 1, "title": "Again"},
    )
    assert twice.status_code == 409, twice.text  # one review per user
    reviews = web.get(f"/v1/namespaces/{namespace}/extensions/linter/reviews").json()
    assert [(r["rating"], r["title"]) for r in reviews["reviews"]] == [(4, "Handy")]
    assert reviews["summary"]["reviewCount"] == 1
    assert reviews["summary"]["averageRating"] == 4.0
    summary = web.get(f"/v1/namespaces/{namespace}/extensions/linter").json()["reviewSummary"]
    assert summary["reviewCount"] == 1

    # Yank: gone from resolution and search, still downloadable by exact version.
    stranger = web.post(
        f"/v1/namespaces/{namespace}/extensions/linter/versions/1.2.0:yank",
        headers=reviewer.auth,
        json={"reason": "mine now"},
    )
    assert stranger.status_code == 403, stranger.text
    yanked = web.post(
        f"/v1/namespaces/{namespace}/extensions/linter/versions/1.2.0:yank",
        headers=owner.auth,
        json={"reason": "crashes on start"},
    )
    assert yanked.status_code == 200, yanked.text
    assert yanked.json()["yanked"] is True
    assert ext_id not in [
        r["extension"]["extensionId"]
        for r in web.get("/v1/extensions:search", params={"query": "linter"}).json()["results"]
    ]
    latest_gone = cli.run("get", ext_id, "-o", str(out_dir), check=False)
    assert latest_gone.returncode == 1 and "NOT_FOUND" in latest_gone.stderr, latest_gone.stderr
    exact = cli.run("get", f"{ext_id}@1.2.0", "-o", str(out_dir / "exact.vsix"))
    assert "signature verified" in exact.stdout
    assert web.get(url).status_code == 200
