"""Open VSX's REST API over the registry's gRPC contract, with Open VSX's JSON shapes.

`POST /api/-/namespace/create`, `POST /api/-/publish` (raw body; `?token=` accepted for
compatibility, like Open VSX — prefer the Authorization header), `GET /api/{ns}`,
`GET /api/{ns}/{ext}[/{targetPlatform}][/{version}]`, `GET /api/{ns}/{ext}/versions`,
`GET /api/{ns}/{ext}[/{targetPlatform}]/{version}/file/{fileName}` (the named files, or any
path in the package such as `extension/dist/web.js`), `GET /api/-/search`,
`GET /api/-/query`, `GET /api/{ns}/{ext}/reviews`, `POST /api/{ns}/{ext}/review` (JSON
`rating`, `comment`, optional `title`: ours are required, so the comment's first line stands in),
`POST /api/{ns}/{ext}/review/delete` (the caller's own), `GET /api/-/public-key/{id}`,
`GET /api/{ns}/verify-pat`. Errors are Open VSX's `{"error": "..."}` with the HTTP status of
the gRPC code.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

import grpc
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import resources_pb2 as pb
from symphony_gateway.errors import GatewayError, from_rpc_error
from symphony_gateway.packages import (
    forward_metadata,
    registry_stub,
    request_id,
    serve_download,
    upload_stream,
)

TARGET_PLATFORMS = frozenset(
    {
        "universal",
        "web",
        "win32-x64",
        "win32-ia32",
        "win32-arm64",
        "linux-x64",
        "linux-arm64",
        "linux-armhf",
        "alpine-x64",
        "alpine-arm64",
        "darwin-x64",
        "darwin-arm64",
    }
)
SORT = {
    "relevance": spb.SORT_BY_RELEVANCE,
    "downloadCount": spb.SORT_BY_DOWNLOADS,
    "rating": spb.SORT_BY_RATING,
    "averageRating": spb.SORT_BY_RATING,
    "timestamp": spb.SORT_BY_UPDATED,
}


class OvsxError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")), status_code=status, media_type="application/json"
    )


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def _token(request: Request) -> str:
    return request.query_params.get("token", "")


async def _call(request: Request, method: str, message: Any, token: str = "") -> Any:
    try:
        return await getattr(registry_stub(request), method)(
            message, metadata=forward_metadata(request, token), timeout=30
        )
    except grpc.aio.AioRpcError as error:
        gw = from_rpc_error(error, "registry", request_id(request))
        raise OvsxError(gw.http_status, gw.message) from None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _time(stamp: Any) -> str | None:
    if not stamp.seconds and not stamp.nanos:
        return None
    return stamp.ToDatetime(tzinfo=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _version_url(base: str, ns: str, ext: str, version: str, platform: str) -> str:
    target = "" if platform in ("", "universal") else f"/{platform}"
    return f"{base}/api/{quote(ns)}/{quote(ext)}{target}/{quote(version)}"


def _file_names(v: pb.Version) -> dict[str, str]:
    """Open VSX's `files` keys → the file names we serve under `/file/`."""
    return {
        "manifest": "package.json",
        "readme": "README.md",
        "changelog": "CHANGELOG.md",
        "license": "LICENSE",
        "icon": "icon",
    }


def extension_json(
    base: str, ext: pb.Extension | None, v: pb.Version, versions: list[str] | None = None
) -> dict[str, Any]:
    ns, _, rest = v.name.removeprefix("namespaces/").partition("/extensions/")
    name = rest.split("/versions/")[0]
    url = _version_url(base, ns, name, v.version, v.target_platform)
    suffix = "" if v.target_platform == "universal" else f"@{v.target_platform}"
    files = {"download": f"{url}/file/{quote(f'{ns}.{name}-{v.version}{suffix}.vsix')}"}
    for kind in v.files:
        files[kind] = f"{url}/file/{_file_names(v)[kind]}"
    if v.HasField("signature"):
        files["publicKey"] = (
            f"{base}/api/-/public-key/{v.signature.key.removeprefix('publishing/keys/')}"
        )
    body: dict[str, Any] = {
        "namespaceUrl": f"{base}/api/{quote(ns)}",
        "reviewsUrl": f"{base}/api/{quote(ns)}/{quote(name)}/reviews",
        "url": url,
        "files": files,
        "name": name,
        "namespace": ns,
        "targetPlatform": v.target_platform,
        "version": v.version,
        "preRelease": v.pre_release,
        "publishedBy": {"loginName": v.publisher.removeprefix("users/")},
        "active": v.scan_state == pb.SCAN_STATE_PASSED,
        "timestamp": _time(v.create_time),
        "displayName": v.display_name,
        "description": v.description,
        "engines": {e.engine: e.range for e in v.engines},
        "categories": list(v.categories),
        "tags": list(v.tags),
        "license": v.license,
        "homepage": v.homepage_url,
        "repository": v.repository_url,
        "bugs": v.bugs_url,
        "dependencies": [_ref(base, d) for d in v.dependencies],
        "bundledExtensions": [_ref(base, d) for d in v.bundled_extensions],
        "downloadable": True,
        "sha256": v.package_sha256,
    }
    if v.yanked:
        body["yanked"] = True
    if ext is not None:
        body.update(
            {
                "verified": ext.verified,
                "unrelatedPublisher": False,
                "namespaceAccess": "restricted",
                "averageRating": ext.review_summary.average_rating
                if ext.review_summary.review_count
                else None,
                "reviewCount": ext.review_summary.review_count,
                "downloadCount": ext.download_count,
                "deprecated": ext.HasField("deprecation"),
                "allTargetPlatformVersions": None,
            }
        )
        if ext.HasField("deprecation") and ext.deprecation.replacement_id:
            r_ns, _, r_ext = ext.deprecation.replacement_id.partition(".")
            body["replacement"] = {
                "url": f"{base}/api/{r_ns}/{r_ext}",
                "displayName": ext.deprecation.replacement_id,
            }
        aliases = []
        if ext.HasField("latest_version") and ext.latest_version.version == v.version:
            aliases.append("latest")
        if ext.HasField("pre_release_version") and ext.pre_release_version.version == v.version:
            aliases.append("pre-release")
        body["versionAlias"] = aliases
    if versions is not None:
        all_versions = {}
        if ext is not None and ext.HasField("latest_version"):
            all_versions["latest"] = _version_url(base, ns, name, "latest", "")
        if ext is not None and ext.HasField("pre_release_version"):
            all_versions["pre-release"] = _version_url(base, ns, name, "pre-release", "")
        for version in versions:
            all_versions.setdefault(version, _version_url(base, ns, name, version, ""))
        body["allVersions"] = all_versions
        body["allVersionsUrl"] = f"{base}/api/{quote(ns)}/{quote(name)}/versions"
    return body


def _ref(base: str, ext_id: str) -> dict[str, str]:
    ns, _, name = ext_id.partition(".")
    return {"namespace": ns, "extension": name, "url": f"{base}/api/{ns}/{name}"}


async def _versions(request: Request, ns: str, ext: str, platform: str = "") -> list[pb.Version]:
    out: list[pb.Version] = []
    token = ""
    while True:
        page = await _call(
            request,
            "ListVersions",
            spb.ListVersionsRequest(
                parent=f"namespaces/{ns}/extensions/{ext}",
                target_platform=platform,
                page_size=1000,
                page_token=token,
            ),
        )
        out.extend(page.versions)
        token = page.next_page_token
        if not token or len(out) > 10_000:
            return out


async def _extension_document(
    request: Request, ns: str, ext: str, version: str, platform: str
) -> dict[str, Any]:
    extension = await _call(
        request,
        "GetExtension",
        spb.GetExtensionRequest(
            name=f"namespaces/{ns}/extensions/{ext}",
            target_platform=platform if platform != "universal" else "",
        ),
    )
    if version in ("", "latest") and extension.HasField("latest_version") and not platform:
        v = extension.latest_version
    else:
        v = await _call(
            request,
            "GetVersion",
            spb.GetVersionRequest(
                name=f"namespaces/{ns}/extensions/{ext}/versions/{version or 'latest'}",
                target_platform=platform,
            ),
        )
    seen: list[str] = []  # newest first, as ListVersions answers
    for x in await _versions(request, ns, ext):
        if not x.yanked and x.version not in seen:
            seen.append(x.version)
    return extension_json(_base(request), extension, v, seen)


# ---------------------------------------------------------------- handlers


async def create_namespace(request: Request) -> Response:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return _error(400, "Invalid JSON input.")
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        return _error(400, "Missing required field: name")
    await _call(
        request, "CreateNamespace", spb.CreateNamespaceRequest(namespace_id=name), _token(request)
    )
    return _json({"success": f"Created namespace {name}"}, 201)


async def publish(request: Request) -> Response:
    try:
        response = await upload_stream(request, token=_token(request))
    except GatewayError as error:
        if error.code == grpc.StatusCode.ALREADY_EXISTS:
            return _error(
                400, f"{error.message} is already published.".replace(" already exists is", "")
            )
        return _error(error.http_status, error.message)
    body = extension_json(_base(request), None, response.version)
    if response.scan.state != pb.SCAN_STATE_PASSED:
        body["warning"] = (
            "The extension is being checked; it becomes available when the checks pass."
        )
    return _json(body, 201)


async def search(request: Request) -> Response:
    q = request.query_params
    try:
        size = int(q.get("size", "18"))
        offset = int(q.get("offset", "0"))
    except ValueError:
        return _error(400, "size and offset must be numbers")
    if size < 0 or offset < 0 or size > 1000:
        return _error(400, "size must be 0..1000 and offset ≥ 0")
    page_token = ""
    message = spb.SearchExtensionsRequest(
        query=q.get("query", ""),
        category=q.get("category", ""),
        target_platform=q.get("targetPlatform", ""),
        sort_by=SORT.get(q.get("sortBy", "relevance"), spb.SORT_BY_RELEVANCE),
        page_size=max(size + offset, 1),
        page_token=page_token,
        include_pre_release=q.get("includePreRelease", "true") != "false",
    )
    answer = await _call(request, "SearchExtensions", message)
    base = _base(request)
    results = []
    for r in list(answer.results)[offset : offset + size]:
        e = r.extension
        if not e.HasField("latest_version"):
            continue
        doc = extension_json(base, e, e.latest_version)
        results.append(
            {
                k: doc.get(k)
                for k in (
                    "url",
                    "files",
                    "name",
                    "namespace",
                    "version",
                    "timestamp",
                    "verified",
                    "averageRating",
                    "reviewCount",
                    "downloadCount",
                    "displayName",
                    "description",
                    "deprecated",
                    "targetPlatform",
                )
            }
        )
    return _json({"offset": offset, "totalSize": answer.total_size, "extensions": results})


async def query(request: Request) -> Response:
    q = request.query_params
    ns, ext = q.get("namespaceName", ""), q.get("extensionName", "")
    if q.get("extensionId"):
        ns, _, ext = q["extensionId"].partition(".")
    if not ns or not ext:
        return _error(400, "Give extensionId, or namespaceName and extensionName.")
    platform = q.get("targetPlatform", "")
    version = q.get("extensionVersion", "")
    try:
        if q.get("includeAllVersions", "false") == "true" and not version:
            extension = await _call(
                request,
                "GetExtension",
                spb.GetExtensionRequest(name=f"namespaces/{ns}/extensions/{ext}"),
            )
            docs = [
                extension_json(_base(request), extension, v)
                for v in await _versions(request, ns, ext, platform)
            ]
        else:
            docs = [await _extension_document(request, ns, ext, version, platform)]
    except OvsxError as error:
        if error.status == 404:
            return _json({"offset": 0, "totalSize": 0, "extensions": []})
        raise
    return _json({"offset": 0, "totalSize": len(docs), "extensions": docs})


async def public_key(request: Request, key_id: str) -> Response:
    key = await _call(
        request, "GetSigningKey", spb.GetSigningKeyRequest(name=f"publishing/keys/{key_id}")
    )
    return Response(key.public_key_pem, media_type="text/plain")


async def namespace(request: Request, ns: str) -> Response:
    got = await _call(request, "GetNamespace", spb.GetNamespaceRequest(name=f"namespaces/{ns}"))
    base = _base(request)
    extensions: dict[str, str] = {}
    token = ""
    while True:
        page = await _call(
            request,
            "ListExtensions",
            spb.ListExtensionsRequest(parent=f"namespaces/{ns}", page_size=1000, page_token=token),
        )
        for e in page.extensions:
            extensions[e.name.rsplit("/", 1)[-1]] = (
                f"{base}/api/{quote(ns)}/{quote(e.name.rsplit('/', 1)[-1])}"
            )
        token = page.next_page_token
        if not token:
            break
    name = got.name.removeprefix("namespaces/")
    return _json(
        {
            "name": name,
            "extensions": extensions,
            "verified": got.verified,
            "access": "restricted",
            "displayName": got.display_name,
            "description": got.description,
            "website": got.website_url,
            "supportLink": got.support_url,
        }
    )


async def verify_pat(request: Request, ns: str) -> Response:
    answer = await _call(
        request,
        "ListNamespaces",
        spb.ListNamespacesRequest(member="users/me", page_size=1000),
        _token(request),
    )
    if any(n.name.lower() == f"namespaces/{ns}".lower() for n in answer.namespaces):
        return _json({"success": f"Valid token for namespace {ns}"})
    return _error(400, f"The token is not valid for namespace {ns}.")


async def versions(request: Request, ns: str, ext: str) -> Response:
    q = request.query_params
    items = await _versions(request, ns, ext)
    base = _base(request)
    mapping: dict[str, str] = {}
    for v in items:
        mapping.setdefault(v.version, _version_url(base, ns, ext, v.version, ""))
    return _json(
        {
            "offset": 0,
            "totalSize": len(mapping),
            "versions": mapping,
            "targetPlatform": q.get("targetPlatform"),
        }
    )


async def reviews(request: Request, ns: str, ext: str) -> Response:
    answer = await _call(
        request,
        "ListReviews",
        spb.ListReviewsRequest(parent=f"namespaces/{ns}/extensions/{ext}", page_size=1000),
    )
    base = _base(request)
    return _json(
        {
            "postUrl": f"{base}/api/{ns}/{ext}/review",
            "deleteUrl": f"{base}/api/{ns}/{ext}/review/delete",
            "reviews": [
                {
                    "user": {
                        "loginName": r.author.removeprefix("users/"),
                        "fullName": r.author_display_name,
                    },
                    "timestamp": _time(r.create_time),
                    "rating": r.rating,
                    "title": r.title,
                    "comment": r.text,
                }
                for r in answer.reviews
            ],
        }
    )


def _review_title(title: str, comment: str, rating: int) -> str:
    """Open VSX reviews need no title, ours do: the comment's first line stands in for one."""
    if title.strip():
        return title
    first = comment.strip().split("\n", 1)[0].strip()
    if not first:
        return f"Rated {rating} of 5"
    return first if len(first) <= 120 else first[:119] + "…"


async def post_review(request: Request, ns: str, ext: str) -> Response:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return _error(400, "The request body must be JSON.")
    if not isinstance(body, dict):
        return _error(400, "The request body must be a JSON object.")
    rating, title, comment = body.get("rating"), body.get("title") or "", body.get("comment") or ""
    if not isinstance(rating, int) or isinstance(rating, bool):
        return _error(400, "The rating must be a number from 1 to 5.")
    if not isinstance(title, str) or not isinstance(comment, str):
        return _error(400, "The title and the comment must be text.")
    await _call(
        request,
        "CreateReview",
        spb.CreateReviewRequest(
            parent=f"namespaces/{ns}/extensions/{ext}",
            review=pb.Review(
                rating=rating, title=_review_title(title, comment, rating), text=comment
            ),
        ),
        _token(request),
    )
    return _json({"success": f"Added review for {ns}.{ext}"})


async def delete_review(request: Request, ns: str, ext: str) -> Response:
    mine = await _call(
        request,
        "ListReviews",
        spb.ListReviewsRequest(
            parent=f"namespaces/{ns}/extensions/{ext}", author="users/me", page_size=1
        ),
        _token(request),
    )
    if not mine.reviews:
        return _error(400, "You have not submitted any review yet.")
    await _call(
        request, "DeleteReview", spb.DeleteReviewRequest(name=mine.reviews[0].name), _token(request)
    )
    return _json({"success": f"Deleted review for {ns}.{ext}"})


async def file(
    request: Request, ns: str, ext: str, platform: str, version: str, file_name: str
) -> Response:
    name = f"namespaces/{ns}/extensions/{ext}/versions/{version}"
    if file_name.endswith(".vsix"):
        return await serve_download(request, name, platform, _token(request))
    lower = file_name.lower()
    # The names of `files` in extension_json; any other name is a path in the package
    # (`extension/...`: how Open VSX serves a web extension's resources).
    kind = (
        "manifest"
        if lower == "package.json"
        else "readme"
        if lower.startswith("readme")
        else "changelog"
        if lower.startswith("changelog")
        else "license"
        if lower.startswith("license")
        else "icon"
        if lower == "icon"
        else "entry"
    )
    got = await _call(
        request,
        "GetVersionFile",
        spb.GetVersionFileRequest(
            name=f"{name}/files/{kind}",
            target_platform=platform,
            path=file_name if kind == "entry" else "",
        ),
    )
    content = got.text.encode() if got.WhichOneof("content") == "text" else got.data
    return Response(
        content, media_type=got.content_type, headers={"cache-control": "public, max-age=3600"}
    )


async def dispatch(request: Request) -> Response:
    parts = [p for p in request.path_params["path"].split("/") if p]
    try:
        if request.method == "POST":
            if parts == ["-", "namespace", "create"]:
                return await create_namespace(request)
            if parts == ["-", "publish"]:
                return await publish(request)
            if len(parts) == 3 and parts[0] != "-" and parts[2] == "review":
                return await post_review(request, parts[0], parts[1])
            if len(parts) == 4 and parts[0] != "-" and parts[2:] == ["review", "delete"]:
                return await delete_review(request, parts[0], parts[1])
            return _error(404, "Not found.")
        if parts[:1] == ["-"]:
            if parts == ["-", "search"]:
                return await search(request)
            if parts == ["-", "query"]:
                return await query(request)
            if len(parts) == 3 and parts[1] == "public-key":
                return await public_key(request, parts[2])
            return _error(404, "Not found.")
        if len(parts) == 1:
            return await namespace(request, parts[0])
        if len(parts) == 2 and parts[1] == "verify-pat":
            return await verify_pat(request, parts[0])
        ns, ext, rest = parts[0], parts[1] if len(parts) > 1 else "", parts[2:]
        platform = ""
        if rest and rest[0] in TARGET_PLATFORMS:
            platform, rest = rest[0], rest[1:]
        if not rest:
            doc = await _extension_document(
                request, ns, ext, "", platform or request.query_params.get("targetPlatform", "")
            )
            return _json(doc)
        if rest == ["versions"] and not platform:
            return await versions(request, ns, ext)
        if rest == ["reviews"] and not platform:
            return await reviews(request, ns, ext)
        if len(rest) == 1:
            return _json(await _extension_document(request, ns, ext, rest[0], platform))
        if len(rest) >= 3 and rest[1] == "file":
            return await file(request, ns, ext, platform, rest[0], "/".join(rest[2:]))
        return _error(404, "Not found.")
    except OvsxError as error:
        return _error(error.status, error.message)


def routes() -> list[Route]:
    return [Route("/api/{path:path}", dispatch, methods=["GET", "POST"])]
