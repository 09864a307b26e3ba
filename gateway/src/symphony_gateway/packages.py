"""Raw package routes that transcoding cannot express.

- `POST /v1/publishing:upload`: the request body (a VSIX) streams into the registry's
  client-streaming UploadPackage in chunks of at most 1 MiB; the package body limit
  (`GatewaySettings.max_package_bytes`, `SYMPHONY_GATEWAY_MAX_PACKAGE_BYTES`) is enforced
  while reading.
  Query: `targetPlatform`, `preRelease`, `namespace`. Answers 201 with UploadPackageResponse.
- `GET /v1/namespaces/{ns}/extensions/{ext}/versions/{version}:download`: the registry's
  DownloadPackage stream as an HTTP body with `Content-Length`, `ETag`, `X-Checksum-Sha256`,
  `Accept-Ranges`, a single `Range` (206/416) and `If-None-Match` (304).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import json_format
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import registry_service_pb2_grpc
from symphony_gateway.config import GatewaySettings
from symphony_gateway.errors import GatewayError, bad_request, from_rpc_error, gateway_error
from symphony_gateway.transcoder import USER_AGENT_HEADER

CHUNK = 1024 * 1024
_EOF: object = grpc.aio.EOF  # type: ignore[attr-defined]  # missing from grpc-stubs
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def max_package_bytes(request: Request) -> int:
    settings: GatewaySettings = request.app.state.settings  # set by create_app
    return settings.max_package_bytes


def registry_stub(request: Request) -> registry_service_pb2_grpc.RegistryServiceStub:
    return registry_service_pb2_grpc.RegistryServiceStub(
        request.app.state.backends.channel("registry")
    )


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "") or uuid.uuid4().hex


def forward_metadata(request: Request, token: str = "") -> tuple[tuple[str, str], ...]:
    """Authorization (or an Open VSX `?token=`), the request id and trace context."""
    metadata = [("x-request-id", request_id(request))]
    authorization = request.headers.get("authorization")
    if token:
        authorization = f"Bearer {token}"
    if authorization and authorization.isascii() and "\n" not in authorization:
        metadata.append(("authorization", authorization))
    for name in ("traceparent", "tracestate"):
        value = request.headers.get(name)
        if value and value.isascii():
            metadata.append((name, value))
    user_agent = request.headers.get("user-agent")
    if user_agent and user_agent.isascii() and "\n" not in user_agent:
        metadata.append((USER_AGENT_HEADER, user_agent[:300]))
    return tuple(metadata)


def too_large(limit: int) -> GatewayError:
    return gateway_error(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"The package is larger than {limit} bytes.",
        "PACKAGE_TOO_LARGE",
        http_status=413,
    )


async def body_chunks(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body re-cut into ≤ 1 MiB chunks, stopping (and refusing) past `limit`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    buffer = bytearray()
    total = 0
    try:
        async for piece in request.stream():
            total += len(piece)
            if total > limit:
                raise too_large(limit)
            buffer += piece
            while len(buffer) >= CHUNK:
                yield bytes(buffer[:CHUNK])
                del buffer[:CHUNK]
    except ClientDisconnect:
        raise gateway_error(
            grpc.StatusCode.CANCELLED, "The client went away.", "CLIENT_GONE", http_status=400
        ) from None
    if buffer:
        yield bytes(buffer)


def _bool(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise bad_request(f"{name} must be true or false", name)


async def upload_stream(
    request: Request, token: str = "", **hints: Any
) -> spb.UploadPackageResponse:
    """Streams the body into UploadPackage; raises GatewayError for any failure."""
    limit = max_package_bytes(request)
    failure: list[GatewayError] = []
    metadata = forward_metadata(request, token)
    # grpc.aio reports INTERNAL instead of the server's status when a write meets a call the
    # server already ended (grpc/grpc#36066). A caller with no credentials is refused here,
    # before any streaming; and the body stops as soon as the call is seen to be over.
    if not any(key == "authorization" for key, _ in metadata):
        raise gateway_error(
            grpc.StatusCode.UNAUTHENTICATED,
            "Sign in or present a personal access token.",
            "UNAUTHENTICATED",
        )
    calls: list[Any] = []

    async def messages() -> AsyncIterator[spb.UploadPackageRequest]:
        metadata = spb.UploadMetadata(
            **{k: v for k, v in hints.items() if v is not None and k != "pre_release"}
        )
        if hints.get("pre_release") is not None:
            metadata.pre_release = bool(hints["pre_release"])
        declared = request.headers.get("content-length")
        if declared and declared.isdigit():
            metadata.size_bytes = int(declared)
        yield spb.UploadPackageRequest(metadata=metadata)
        try:
            async for chunk in body_chunks(request, limit):
                if calls and calls[0].done():
                    return
                yield spb.UploadPackageRequest(chunk=chunk)
        except GatewayError as error:
            failure.append(error)
            raise

    try:
        call = registry_stub(request).UploadPackage(messages(), metadata=metadata, timeout=600)
        calls.append(call)
        return await call
    except grpc.aio.AioRpcError as error:
        if failure:
            raise failure[0] from None
        raise from_rpc_error(error, "registry", request_id(request)) from None
    except GatewayError:
        raise
    except Exception:
        if failure:
            raise failure[0] from None
        raise


async def upload(request: Request) -> Response:
    from symphony_gateway.app import error_response

    try:
        params = request.query_params
        response = await upload_stream(
            request,
            target_platform=params.get("targetPlatform") or None,
            namespace=params.get("namespace") or None,
            pre_release=_bool(params.get("preRelease"), "preRelease"),
            file_name=params.get("fileName") or None,
            request_id=params.get("requestId") or None,
        )
    except GatewayError as error:
        return error_response(error)
    return Response(
        json_format.MessageToJson(response, indent=None),
        status_code=201,
        media_type="application/json",
    )


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single `bytes=a-b` range → (offset, length); None without a range; ValueError when
    it cannot be satisfied."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise ValueError("unsupported range")
    if not m.group(1):
        length = min(int(m.group(2)), size)
        if length == 0:
            raise ValueError("empty suffix range")
        return size - length, length
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        raise ValueError("unsatisfiable")
    end = min(end, size - 1)
    return start, end - start + 1


async def open_download(
    request: Request,
    name: str,
    target_platform: str,
    token: str = "",
    offset: int = 0,
    length: int = 0,
) -> tuple[spb.DownloadMetadata, AsyncIterator[bytes], Any]:
    call = registry_stub(request).DownloadPackage(
        spb.DownloadPackageRequest(
            name=name, target_platform=target_platform, offset=offset, length=length
        ),
        metadata=forward_metadata(request, token),
        timeout=600,
    )
    try:
        first = await call.read()
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error, "registry", request_id(request)) from None
    if first is _EOF or first.WhichOneof("payload") != "metadata":
        call.cancel()
        raise gateway_error(
            grpc.StatusCode.INTERNAL, "The registry sent no package metadata.", "BAD_BACKEND_ANSWER"
        )

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while True:
                message = await call.read()
                if message is _EOF:
                    return
                yield message.chunk
        finally:
            call.cancel()

    return first.metadata, chunks(), call


async def _version_info(request: Request, name: str, target_platform: str, token: str) -> Any:
    try:
        return await registry_stub(request).GetVersion(
            spb.GetVersionRequest(name=name, target_platform=target_platform),
            metadata=forward_metadata(request, token),
            timeout=30,
        )
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error, "registry", request_id(request)) from None


async def serve_download(
    request: Request, name: str, target_platform: str, token: str = ""
) -> Response:
    from symphony_gateway.app import error_response

    range_header = request.headers.get("range")
    try:
        span: tuple[int, int] | None = None
        if request.headers.get("if-none-match") or (
            range_header and range_header.strip().startswith("bytes=-")
        ):
            # Learn size and ETag without starting (and counting) a download.
            version = await _version_info(request, name, target_platform, token)
            if version.etag and request.headers.get("if-none-match") == version.etag:
                return Response(status_code=304, headers={"etag": version.etag})
            size = version.package_size_bytes
            if range_header:
                try:
                    span = parse_range(range_header, size)
                except ValueError:
                    return Response(status_code=416, headers={"content-range": f"bytes */{size}"})
        elif range_header:
            m = _RANGE.match(range_header.strip())
            if not m or not m.group(1):
                return Response(status_code=416)
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else None
            if end is not None and end < start:
                return Response(status_code=416)
            span = (start, 0 if end is None else end - start + 1)
        offset, length = span if span else (0, 0)
        try:
            meta, chunks, _ = await open_download(
                request, name, target_platform, token, offset=offset, length=length
            )
        except GatewayError as error:
            if error.code == grpc.StatusCode.OUT_OF_RANGE:
                return Response(status_code=416)
            raise
    except GatewayError as error:
        return error_response(error)
    headers = {
        "content-length": str(meta.length),
        "etag": meta.etag,
        "x-checksum-sha256": meta.sha256,
        "accept-ranges": "bytes",
        "content-disposition": f'attachment; filename="{meta.file_name}"',
        "cache-control": "no-cache"
        if name.endswith(("/latest", "/pre-release"))
        else "public, max-age=3600",
    }
    status = 200
    if span:
        status = 206
        headers["content-range"] = (
            f"bytes {meta.offset}-{meta.offset + meta.length - 1}/{meta.size_bytes}"
        )
    return StreamingResponse(
        chunks, status_code=status, headers=headers, media_type="application/octet-stream"
    )


async def download(request: Request) -> Response:
    p = request.path_params
    name = f"namespaces/{p['namespace']}/extensions/{p['extension']}/versions/{p['version']}"
    return await serve_download(request, name, request.query_params.get("targetPlatform", ""))


def routes() -> list[Route]:
    return [
        Route("/v1/publishing:upload", upload, methods=["POST"]),
        Route(
            "/v1/namespaces/{namespace}/extensions/{extension}/versions/{version}:download",
            download,
            methods=["GET"],
        ),
    ]


__all__ = ["routes"]
