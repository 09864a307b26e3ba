"""gRPC adapters: proto in, domain call, proto out. No SQL, no sessions, no `context.abort`."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import empty_pb2

from symphony.registry.v1 import registry_internal_service_pb2 as ipb
from symphony.registry.v1 import registry_internal_service_pb2_grpc, registry_service_pb2_grpc
from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import resources_pb2 as pb
from symphony_common.context import current_principal
from symphony_common.errors import invalid_field
from symphony_common.grpc.convert import proto_enum
from symphony_registry.api import converters as cv
from symphony_registry.domain import models as m
from symphony_registry.domain.archive import reject
from symphony_registry.domain.service import RegistryService, UploadHints

Ctx = grpc.aio.ServicerContext


def _mask(request: Any) -> list[str]:
    return list(request.update_mask.paths) if request.HasField("update_mask") else []


class RegistryServicer(registry_service_pb2_grpc.RegistryServiceServicer):
    def __init__(self, service: RegistryService) -> None:
        self.service = service
        self._cached_extension = cv.Memo(self._extension)

    @property
    def _window(self) -> dt.timedelta:
        return self.service.config.unpublish_window

    def _version(self, v: m.Version) -> Any:
        return cv.version(v, self._window)

    def _extension(self, e: m.Extension) -> pb.Extension:
        return cv.extension(e, self._window)

    # ---- namespaces

    async def CreateNamespace(self, request: spb.CreateNamespaceRequest, context: Ctx) -> Any:
        ns = request.namespace
        fields = m.Namespace(
            id="",
            name="",
            display_name=ns.display_name,
            description=ns.description,
            website_url=ns.website_url,
            support_url=ns.support_url,
            owner=ns.owner,
        )
        return cv.namespace(
            await self.service.create_namespace(
                current_principal(), request.namespace_id, fields, request.request_id
            )
        )

    async def GetNamespace(self, request: spb.GetNamespaceRequest, context: Ctx) -> Any:
        return cv.namespace(await self.service.get_namespace(request.name))

    async def ListNamespaces(self, request: spb.ListNamespacesRequest, context: Ctx) -> Any:
        page = await self.service.list_namespaces(
            current_principal(),
            request.member,
            request.owner,
            request.verified_only,
            request.page_size,
            request.page_token,
        )
        return spb.ListNamespacesResponse(
            namespaces=[cv.namespace(n) for n in page.items], next_page_token=page.next_token
        )

    async def UpdateNamespace(self, request: spb.UpdateNamespaceRequest, context: Ctx) -> Any:
        ns = request.namespace
        patch = m.Namespace(
            id="",
            name=ns.name,
            display_name=ns.display_name,
            description=ns.description,
            website_url=ns.website_url,
            support_url=ns.support_url,
        )
        return cv.namespace(
            await self.service.update_namespace(current_principal(), patch, _mask(request), ns.etag)
        )

    async def SetNamespaceVerified(
        self, request: spb.SetNamespaceVerifiedRequest, context: Ctx
    ) -> Any:
        return cv.namespace(
            await self.service.set_namespace_verified(
                current_principal(), request.name, request.verified
            )
        )

    async def AddNamespaceMember(self, request: spb.AddNamespaceMemberRequest, context: Ctx) -> Any:
        return cv.member(
            await self.service.add_member(
                current_principal(), request.parent, request.user, request.role, request.request_id
            )
        )

    async def ListNamespaceMembers(
        self, request: spb.ListNamespaceMembersRequest, context: Ctx
    ) -> Any:
        page = await self.service.list_members(
            current_principal(), request.parent, request.page_size, request.page_token
        )
        return spb.ListNamespaceMembersResponse(
            members=[cv.member(x) for x in page.items], next_page_token=page.next_token
        )

    async def UpdateNamespaceMember(
        self, request: spb.UpdateNamespaceMemberRequest, context: Ctx
    ) -> Any:
        mb = request.namespace_member
        return cv.member(
            await self.service.update_member(
                current_principal(), mb.name, mb.role, _mask(request), mb.etag
            )
        )

    async def RemoveNamespaceMember(
        self, request: spb.RemoveNamespaceMemberRequest, context: Ctx
    ) -> Any:
        await self.service.remove_member(current_principal(), request.name)
        return empty_pb2.Empty()

    # ---- extensions and versions

    async def GetExtension(self, request: spb.GetExtensionRequest, context: Ctx) -> Any:
        return self._cached_extension(
            await self.service.get_extension(
                current_principal(), request.name, request.target_platform
            )
        )

    async def ListExtensions(self, request: spb.ListExtensionsRequest, context: Ctx) -> Any:
        page = await self.service.list_extensions(
            current_principal(), request.parent, request.page_size, request.page_token
        )
        return spb.ListExtensionsResponse(
            extensions=[self._extension(e) for e in page.items], next_page_token=page.next_token
        )

    async def ListVersions(self, request: spb.ListVersionsRequest, context: Ctx) -> Any:
        page = await self.service.list_versions(
            current_principal(),
            request.parent,
            request.target_platform,
            request.include_inactive,
            request.page_size,
            request.page_token,
        )
        return spb.ListVersionsResponse(
            versions=[self._version(v) for v in page.items], next_page_token=page.next_token
        )

    async def GetVersion(self, request: spb.GetVersionRequest, context: Ctx) -> Any:
        return self._version(
            await self.service.get_version(
                current_principal(), request.name, request.target_platform
            )
        )

    async def GetVersionFile(self, request: spb.GetVersionFileRequest, context: Ctx) -> Any:
        v, kind, (path, ctype, size, sha, content) = await self.service.get_version_file(
            current_principal(), request.name, request.target_platform, request.path
        )
        msg = pb.VersionFile(
            name=f"namespaces/{v.namespace}/extensions/{v.extension}/versions/{v.version}/files/{kind}",
            target_platform=v.target_platform,
            path=path,
            content_type=ctype,
            size_bytes=size,
            sha256=sha,
        )
        if ctype.startswith("text/") or ctype == "application/json":
            try:
                msg.text = content.decode("utf-8")
            except UnicodeDecodeError:
                msg.data = content
        else:
            msg.data = content
        return msg

    # ---- publishing

    async def UploadPackage(
        self, request_iterator: AsyncIterator[spb.UploadPackageRequest], context: Ctx
    ) -> Any:
        iterator = request_iterator.__aiter__()
        try:
            first = await iterator.__anext__()
        except StopAsyncIteration:
            raise reject(
                "UPLOAD_METADATA_MISSING", "the first message must carry metadata", "metadata"
            ) from None
        if first.WhichOneof("payload") != "metadata":
            raise reject(
                "UPLOAD_METADATA_MISSING", "the first message must carry metadata", "metadata"
            )
        md = first.metadata
        hints = UploadHints(
            namespace=md.namespace,
            target_platform=md.target_platform,
            pre_release=md.pre_release if md.HasField("pre_release") else None,
            size_bytes=md.size_bytes,
            sha256=md.sha256,
            file_name=md.file_name,
            request_id=md.request_id,
        )

        async def chunks() -> AsyncIterator[bytes]:
            async for message in iterator:
                if message.WhichOneof("payload") != "chunk":
                    raise reject(
                        "UPLOAD_METADATA_REPEATED",
                        "only the first message carries metadata",
                        "metadata",
                    )
                yield message.chunk

        version, scan = await self.service.upload_package(current_principal(), hints, chunks())
        return spb.UploadPackageResponse(version=self._version(version), scan=cv.scan(scan))

    async def GetScan(self, request: spb.GetScanRequest, context: Ctx) -> Any:
        return cv.scan(await self.service.get_scan(current_principal(), request.name))

    async def ListScans(self, request: spb.ListScansRequest, context: Ctx) -> Any:
        page = await self.service.list_scans(
            current_principal(),
            request.namespace,
            request.extension,
            request.state,
            request.page_size,
            request.page_token,
        )
        return spb.ListScansResponse(
            scans=[cv.scan(s) for s in page.items], next_page_token=page.next_token
        )

    async def AllowQuarantinedVersion(
        self, request: spb.AllowQuarantinedVersionRequest, context: Ctx
    ) -> Any:
        return cv.scan(
            await self.service.decide_quarantine(
                current_principal(), request.scan, True, request.reason, request.etag
            )
        )

    async def BlockQuarantinedVersion(
        self, request: spb.BlockQuarantinedVersionRequest, context: Ctx
    ) -> Any:
        return cv.scan(
            await self.service.decide_quarantine(
                current_principal(), request.scan, False, request.reason, request.etag
            )
        )

    async def ListBlocklistEntries(
        self, request: spb.ListBlocklistEntriesRequest, context: Ctx
    ) -> Any:
        page = await self.service.list_blocklist(
            current_principal(), request.page_size, request.page_token
        )
        return spb.ListBlocklistEntriesResponse(
            blocklist_entries=[cv.blocklist_entry(b) for b in page.items],
            next_page_token=page.next_token,
        )

    async def CreateBlocklistEntry(
        self, request: spb.CreateBlocklistEntryRequest, context: Ctx
    ) -> Any:
        entry = request.blocklist_entry
        return cv.blocklist_entry(
            await self.service.create_blocklist_entry(
                current_principal(), entry.sha256, entry.reason, request.request_id
            )
        )

    async def DeleteBlocklistEntry(
        self, request: spb.DeleteBlocklistEntryRequest, context: Ctx
    ) -> Any:
        await self.service.delete_blocklist_entry(current_principal(), request.name)
        return empty_pb2.Empty()

    # ---- downloads and signing

    async def DownloadPackage(
        self, request: spb.DownloadPackageRequest, context: Ctx
    ) -> AsyncIterator[Any]:
        plan = await self.service.download(
            request.name, request.target_platform, request.offset, request.length
        )
        v = plan.version
        metadata = spb.DownloadMetadata(
            version=f"namespaces/{v.namespace}/extensions/{v.extension}/versions/{v.version}",
            target_platform=v.target_platform,
            size_bytes=v.package_size,
            sha256=v.package_sha256,
            offset=plan.offset,
            length=plan.length,
            etag=v.etag,
            file_name=plan.file_name,
        )
        sig = cv.signature(v.signature)
        if sig is not None:
            metadata.signature.CopyFrom(sig)
        yield spb.DownloadPackageResponse(metadata=metadata)
        async for chunk in plan.chunks:
            yield spb.DownloadPackageResponse(chunk=chunk)

    async def ListSigningKeys(self, request: spb.ListSigningKeysRequest, context: Ctx) -> Any:
        return spb.ListSigningKeysResponse(
            signing_keys=[cv.signing_key(k) for k in await self.service.list_signing_keys()]
        )

    async def GetSigningKey(self, request: spb.GetSigningKeyRequest, context: Ctx) -> Any:
        return cv.signing_key(await self.service.get_signing_key(request.name))

    # ---- search and updates

    async def SearchExtensions(self, request: spb.SearchExtensionsRequest, context: Ctx) -> Any:
        from symphony_common.pagination import page_size

        size = page_size(request.page_size)
        position = (
            self.service.pages.decode(request.page_token, _search_key(request))
            if request.page_token
            else None
        )
        offset = int((position or {}).get("offset", 0))
        if offset > 10_000:
            raise invalid_field(
                "page_token",
                "results beyond 10,000 are not served; refine the query",
                "PAGE_TOKEN_INVALID",
            )
        query = m.SearchQuery(
            text=request.query,
            category=request.category,
            tag=request.tag,
            target_platform=request.target_platform,
            include_pre_release=request.include_pre_release,
            sort_by=m.SortBy(request.sort_by)
            if request.sort_by in set(m.SortBy)
            else (m.SortBy.RELEVANCE if request.sort_by == 0 else request.sort_by),  # type: ignore[arg-type]
            offset=offset,
            limit=size,
        )
        page = await self.service.search(query)
        response = spb.SearchExtensionsResponse(total_size=min(page.total, 2**31 - 1))
        for hit in page.items:
            result = response.results.add()
            result.extension.CopyFrom(self._extension(hit.extension))
            if request.explain:
                result.explanation.CopyFrom(cv.explanation(hit.parts))
        if offset + size < page.total:
            response.next_page_token = self.service.pages.encode(
                {"offset": offset + size}, _search_key(request)
            )
        return response

    async def CheckUpdates(self, request: spb.CheckUpdatesRequest, context: Ctx) -> Any:
        answers = await self.service.check_updates(
            [(e.extension_id, e.version) for e in request.extensions],
            request.editor_version,
            request.vscode_compatibility_version,
            request.target_platform,
            request.include_pre_release,
        )
        response = spb.CheckUpdatesResponse()
        for a in answers:
            item = response.updates.add(
                extension_id=a["extension_id"],
                installed_version=a["installed_version"],
                found=a["found"],
                update_available=a["update_available"],
                installed_version_withdrawn=a["withdrawn"],
            )
            if a["latest"] is not None:
                item.latest_compatible_version.CopyFrom(self._version(a["latest"]))
            dep = cv.deprecation(a["deprecation"])
            if dep is not None:
                item.deprecation.CopyFrom(dep)
        return response

    # ---- reviews

    async def ListReviews(self, request: spb.ListReviewsRequest, context: Ctx) -> Any:
        page, summary = await self.service.list_reviews(
            current_principal(),
            request.parent,
            request.page_size,
            request.page_token,
            request.author,
        )
        return spb.ListReviewsResponse(
            reviews=[cv.review(r) for r in page.items],
            next_page_token=page.next_token,
            summary=cv.summary(summary),
        )

    async def CreateReview(self, request: spb.CreateReviewRequest, context: Ctx) -> Any:
        r = request.review
        return cv.review(
            await self.service.create_review(
                current_principal(),
                request.parent,
                r.rating,
                r.title,
                r.text,
                r.version,
                request.request_id,
            )
        )

    async def UpdateReview(self, request: spb.UpdateReviewRequest, context: Ctx) -> Any:
        r = request.review
        patch = {"rating": r.rating, "title": r.title, "text": r.text, "version": r.version}
        return cv.review(
            await self.service.update_review(
                current_principal(), r.name, patch, _mask(request), r.etag
            )
        )

    async def DeleteReview(self, request: spb.DeleteReviewRequest, context: Ctx) -> Any:
        await self.service.delete_review(current_principal(), request.name, request.etag)
        return empty_pb2.Empty()

    # ---- lifecycle

    async def YankVersion(self, request: spb.YankVersionRequest, context: Ctx) -> Any:
        return self._version(
            await self.service.set_yanked(
                current_principal(), request.name, request.target_platform, True, request.reason
            )
        )

    async def UnyankVersion(self, request: spb.UnyankVersionRequest, context: Ctx) -> Any:
        return self._version(
            await self.service.set_yanked(
                current_principal(), request.name, request.target_platform, False
            )
        )

    async def UnpublishVersion(self, request: spb.UnpublishVersionRequest, context: Ctx) -> Any:
        await self.service.unpublish(
            current_principal(), request.name, request.target_platform, request.request_id
        )
        return empty_pb2.Empty()

    async def DeprecateExtension(self, request: spb.DeprecateExtensionRequest, context: Ctx) -> Any:
        return self._extension(
            await self.service.deprecate(
                current_principal(), request.name, request.replacement, request.message
            )
        )

    async def UndeprecateExtension(
        self, request: spb.UndeprecateExtensionRequest, context: Ctx
    ) -> Any:
        return self._extension(
            await self.service.deprecate(
                current_principal(), request.name, "", "", deprecated=False
            )
        )


def _search_key(request: spb.SearchExtensionsRequest) -> dict[str, Any]:
    return {
        "q": request.query,
        "c": request.category,
        "t": request.tag,
        "p": request.target_platform,
        "pre": request.include_pre_release,
        "s": request.sort_by,
        "n": request.page_size,
    }


class RegistryInternalServicer(registry_internal_service_pb2_grpc.RegistryInternalServiceServicer):
    def __init__(self, service: RegistryService) -> None:
        self.service = service

    async def DeleteUserData(self, request: ipb.DeleteUserDataRequest, context: Ctx) -> Any:
        reviews, memberships, frozen = await self.service.delete_user_data(
            request.user, request.request_id
        )
        return ipb.DeleteUserDataResponse(
            reviews_deleted=reviews, memberships_removed=memberships, frozen_namespaces=frozen
        )

    async def GetNamespaceAccess(self, request: ipb.GetNamespaceAccessRequest, context: Ctx) -> Any:
        ns, role, source = await self.service.namespace_access(request.namespace, request.user)
        return ipb.GetNamespaceAccessResponse(
            namespace=f"namespaces/{ns.name}",
            user=request.user,
            role=proto_enum(pb.NamespaceRole, role),
            source=proto_enum(ipb.AccessSource, source if role else 0),
            owner=ns.owner,
        )

    async def ListUserNamespaces(self, request: ipb.ListUserNamespacesRequest, context: Ctx) -> Any:
        page = await self.service.user_namespaces(
            request.user, request.page_size, request.page_token
        )
        return ipb.ListUserNamespacesResponse(
            namespaces=[cv.namespace_access(n, r, s) for n, r, s in page.items],
            next_page_token=page.next_token,
        )
