"""Registry use cases. Imports no framework: storage through the unit of work, peers through
ports, the cache through its port."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import mimetypes
import os
import re
import tempfile
import time
import unicodedata
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from symphony_common.context import Principal
from symphony_common.errors import (
    AlreadyExists,
    DataLoss,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    PreconditionViolation,
    Unauthenticated,
    invalid_field,
    not_found,
)
from symphony_common.pagination import PageTokenCodec, page_size
from symphony_registry.domain import models as m
from symphony_registry.domain import names_res as rn
from symphony_registry.domain.archive import (
    TARGET_PLATFORMS,
    Limits,
    PackageInfo,
    check_hints,
    reject,
    validate_package,
)
from symphony_registry.domain.entries import read_entry
from symphony_registry.domain.names import (
    RESERVED_NAMESPACES,
    is_mixed_script,
    is_valid_name,
    skeleton,
    too_similar,
)
from symphony_registry.domain.ports import AuthPort, BlobStore, Cache, NullCache, RegistryUnitOfWork
from symphony_registry.domain.semver import Range, SemVer
from symphony_registry.domain.signing import (
    canonical_manifest,
    new_private_key,
    public_key_of,
    sign,
)

log = logging.getLogger(__name__)

MAX_CHUNK = 1024 * 1024
PUBLISH_SCOPE = "registry.publish"
MAX_TEXT = 2048
DECODED_ENTRIES = 1024  # decoded cache entries kept per process
# Package files served one by one (GetVersionFile `entry`) fit one gRPC message.
ENTRY_FILE_MAX_BYTES = 3 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class RegistryConfig:
    limits: Limits = field(default_factory=Limits)
    spool_dir: str | None = None
    unpublish_window: dt.timedelta = dt.timedelta(hours=72)
    reserved_namespaces: frozenset[str] = RESERVED_NAMESPACES
    cache_ttl: float = 15.0
    # How long this process reuses a cached extension without asking Redis (0: always ask).
    local_cache_ttl: float = 0.0
    page_secret: str = ""


@dataclass
class UploadHints:
    namespace: str = ""
    target_platform: str = ""
    pre_release: bool | None = None
    size_bytes: int = 0
    sha256: str = ""
    file_name: str = ""
    request_id: str = ""


@dataclass
class DownloadPlan:
    version: m.Version
    offset: int
    length: int
    file_name: str
    chunks: AsyncIterator[bytes]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _bad_text(value: str) -> bool:
    return any(
        unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and ch not in "\n\r\t" for ch in value
    )


def _check_text(value: str, field_path: str, limit: int, reason: str = "FIELD_INVALID") -> str:
    if len(value) > limit or _bad_text(value):
        raise invalid_field(
            field_path, f"must be at most {limit} characters without control characters", reason
        )
    return value


def _check_url(value: str, field_path: str, *, mailto: bool = False) -> str:
    if not value:
        return value
    ok = value.startswith("https://") or (mailto and value.startswith("mailto:"))
    if not ok or len(value) > 2048 or any(ch.isspace() for ch in value) or _bad_text(value):
        raise invalid_field(
            field_path, "must be an https URL" + (" or mailto:" if mailto else ""), "FIELD_INVALID"
        )
    return value


def _check_platform(value: str, field_path: str = "target_platform") -> str:
    if value and value not in TARGET_PLATFORMS:
        raise invalid_field(
            field_path, f"must be one of {', '.join(TARGET_PLATFORMS)}", "TARGET_PLATFORM_INVALID"
        )
    return value


def _check_request_id(value: str) -> str:
    if value:
        try:
            uuid.UUID(value)
        except ValueError:
            raise invalid_field("request_id", "must be a UUID", "REQUEST_ID_INVALID") from None
    return value


def unauthenticated() -> Unauthenticated:
    return Unauthenticated("UNAUTHENTICATED", "sign in or present a personal access token")


def scope_denied(namespace: str = "") -> PermissionDenied:
    what = (
        f"'{PUBLISH_SCOPE}' or '{PUBLISH_SCOPE}:{namespace}'" if namespace else f"'{PUBLISH_SCOPE}'"
    )
    return PermissionDenied("TOKEN_SCOPE_INSUFFICIENT", f"the token lacks the scope {what}")


def access_denied(namespace: str) -> PermissionDenied:
    return PermissionDenied(
        "NAMESPACE_ACCESS_DENIED", f"you are not an owner of namespace '{namespace}'"
    )


def admin_required() -> PermissionDenied:
    return PermissionDenied("ADMIN_REQUIRED", "only registry administrators may do this")


class RegistryService:
    def __init__(
        self,
        uow: Callable[[], RegistryUnitOfWork],
        *,
        blobs: BlobStore,
        auth: AuthPort,
        cache: Cache | None = None,
        config: RegistryConfig | None = None,
    ) -> None:
        self._uow = uow
        self.blobs = blobs
        self.auth = auth
        self.cache = cache or NullCache()
        self.config = config or RegistryConfig()
        self.pages = PageTokenCodec(self.config.page_secret or os.urandom(32).hex())
        self._signing_key: m.SigningKey | None = None
        self.global_mean = [3.5]
        # Decoded cache entries: (reuse without Redis until, the Redis bytes, the extension).
        # Served without asking Redis for `local_cache_ttl`, then reused while Redis still
        # holds the very same bytes (decoding costs more than fetching); invalidation on this
        # replica drops them at once, other replicas see it within `local_cache_ttl`.
        self._decoded: dict[str, tuple[float, bytes, m.Extension]] = {}

    # ================================================================ helpers

    def _user(self, principal: Principal) -> str:
        if not principal.is_authenticated or not principal.user_id:
            raise unauthenticated()
        return principal.user_id

    @staticmethod
    def _has_any_publish_scope(principal: Principal) -> bool:
        return any(
            s == PUBLISH_SCOPE or s.startswith(PUBLISH_SCOPE + ":") for s in principal.scopes
        )

    def _require_scope(self, principal: Principal, namespace: str) -> None:
        if not principal.has_scope(PUBLISH_SCOPE, namespace) and not principal.has_scope(
            PUBLISH_SCOPE, namespace.lower()
        ):
            raise scope_denied(namespace)

    def _require_registry_scope(self, principal: Principal) -> None:
        if not any(s.startswith("registry.") for s in principal.scopes):
            raise PermissionDenied(
                "TOKEN_SCOPE_INSUFFICIENT", "the token carries no registry scope"
            )

    async def _is_admin(self, principal: Principal) -> bool:
        if not principal.is_authenticated:
            return False
        return await self.auth.is_administrator(principal.user_id)

    async def _require_admin(self, principal: Principal) -> str:
        user = self._user(principal)
        if not await self._is_admin(principal):
            raise admin_required()
        return user

    async def _role(
        self, uow: RegistryUnitOfWork, ns: m.Namespace, user_id: str
    ) -> tuple[m.Role, int]:
        """(effective role, source: 1 member, 2 organization, 0 none)."""
        best, source = m.Role.NONE, 0
        member = await uow.repo.get_member(ns, user_id)
        if member is not None:
            best, source = member.role, 1
        if ns.owner == f"users/{user_id}" and not ns.frozen and best != m.Role.OWNER:
            best, source = m.Role.OWNER, 1
        if ns.owner.startswith("organizations/") and best != m.Role.OWNER:
            org_role = await self.auth.organization_role(
                ns.owner.removeprefix("organizations/"), user_id
            )
            if org_role != m.Role.NONE and (best == m.Role.NONE or org_role == m.Role.OWNER):
                best, source = org_role, 2
        return best, source

    async def _can_manage(
        self, uow: RegistryUnitOfWork, principal: Principal, ns: m.Namespace
    ) -> bool:
        if not principal.is_authenticated:
            return False
        role, _ = await self._role(uow, ns, principal.user_id)
        return role == m.Role.OWNER or await self._is_admin(principal)

    async def _can_see_hidden(
        self, uow: RegistryUnitOfWork, principal: Principal, ns_name: str
    ) -> bool:
        if not principal.is_authenticated:
            return False
        ns = await uow.repo.get_namespace(ns_name)
        if ns is None:
            return False
        role, _ = await self._role(uow, ns, principal.user_id)
        return role != m.Role.NONE or await self._is_admin(principal)

    async def _require_owner(
        self, uow: RegistryUnitOfWork, principal: Principal, ns_name: str
    ) -> m.Namespace:
        self._user(principal)
        ns = await uow.repo.get_namespace(ns_name)
        if ns is None:
            # Checked before existence: a stranger learns nothing about hidden things.
            raise not_found("Namespace", f"namespaces/{ns_name}", "NAMESPACE_NOT_FOUND")
        if not await self._can_manage(uow, principal, ns):
            raise access_denied(ns.name)
        if principal.kind == "pat" or not await self._is_admin(principal):
            self._require_scope(principal, ns.name)
        return ns

    async def _namespace(self, uow: RegistryUnitOfWork, ns_name: str) -> m.Namespace:
        ns = await uow.repo.get_namespace(ns_name)
        if ns is None:
            raise not_found("Namespace", f"namespaces/{ns_name}", "NAMESPACE_NOT_FOUND")
        return ns

    async def _extension(
        self,
        uow: RegistryUnitOfWork,
        ns: str,
        name: str,
        principal: Principal | None = None,
        *,
        lock: bool = False,
    ) -> m.Extension:
        ext = await uow.repo.get_extension(ns, name, lock=lock)
        if ext is None or (
            not ext.__dict__.get("has_visible")
            and (principal is None or not await self._can_see_hidden(uow, principal, ns))
        ):
            if ext is None and await uow.repo.get_namespace(ns) is None:
                raise not_found("Namespace", f"namespaces/{ns}", "NAMESPACE_NOT_FOUND")
            raise not_found(
                "Extension", f"namespaces/{ns}/extensions/{name}", "EXTENSION_NOT_FOUND"
            )
        return ext

    async def _idempotent(
        self, uow: RegistryUnitOfWork, method: str, principal: Principal, request_id: str
    ) -> str | None:
        if not request_id:
            return None
        return await uow.repo.idempotent_result(
            method, principal.user_id or principal.kind, request_id
        )

    async def _remember(
        self,
        uow: RegistryUnitOfWork,
        method: str,
        principal: Principal,
        request_id: str,
        result: str,
    ) -> None:
        if request_id:
            await uow.repo.remember(method, principal.user_id or principal.kind, request_id, result)

    def _page(self, token: str, query: dict[str, Any]) -> dict[str, Any] | None:
        return self.pages.decode(token, query)

    async def invalidate(self, namespace: str, extension: str) -> None:
        base = f"ext:{namespace.lower()}.{extension.lower()}:"
        keys = [base + p for p in ("", *TARGET_PLATFORMS)]
        for key in keys:
            self._decoded.pop(key, None)
        await self.cache.delete(*keys)
        await self.cache.bump("search")

    # ================================================================ signing keys

    async def ensure_signing_key(self) -> m.SigningKey:
        """Generated on first start and kept in the registry's schema."""
        async with self._uow() as uow:
            key = await uow.repo.active_signing_key()
            if key is None:
                private = new_private_key()
                await uow.repo.insert_signing_key(
                    m.SigningKey(
                        str(uuid.uuid4()), public_key_of(private), True, private_key=private
                    )
                )
                await uow.commit()
        async with self._uow() as uow:
            key = await uow.repo.active_signing_key()
        assert key is not None
        self._signing_key = key
        return key

    async def list_signing_keys(self) -> list[m.SigningKey]:
        async with self._uow() as uow:
            return await uow.repo.list_signing_keys()

    async def get_signing_key(self, name: str) -> m.SigningKey:
        key_id = rn.single(name, "publishing/keys")
        for key in await self.list_signing_keys():
            if key.id == key_id:
                return key
        raise not_found("SigningKey", name, "SIGNING_KEY_NOT_FOUND")

    # ================================================================ namespaces

    async def create_namespace(
        self, principal: Principal, namespace_id: str, fields: m.Namespace, request_id: str = ""
    ) -> m.Namespace:
        user = self._user(principal)
        _check_request_id(request_id)
        if not self._has_any_publish_scope(principal):
            raise scope_denied()
        if not is_valid_name(namespace_id):
            raise invalid_field(
                "namespace_id",
                "must match [\\w-+$~]+ and be at most 255 characters",
                "NAMESPACE_NAME_INVALID",
            )
        _check_text(fields.display_name, "namespace.display_name", 255)
        _check_text(fields.description, "namespace.description", MAX_TEXT)
        _check_url(fields.website_url, "namespace.website_url")
        _check_url(fields.support_url, "namespace.support_url", mailto=True)
        owner = rn.owner_name(fields.owner) if fields.owner else f"users/{user}"
        if (
            owner.startswith("users/")
            and owner != f"users/{user}"
            and not await self._is_admin(principal)
        ):
            raise PermissionDenied(
                "ORGANIZATION_ACCESS_DENIED",
                "a namespace can be created for yourself or an organization you administer",
            )
        if owner.startswith("organizations/"):
            org = owner.removeprefix("organizations/")
            if not await self.auth.organization_exists(org):
                raise NotFound("OWNER_NOT_FOUND", f"organization '{org}' not found")
            if await self.auth.organization_role(org, user) != m.Role.OWNER:
                raise PermissionDenied(
                    "ORGANIZATION_ACCESS_DENIED",
                    "only the organization's owners and admins may create its namespaces",
                )
        lowered = namespace_id.casefold()
        if lowered in self.config.reserved_namespaces:
            raise FailedPrecondition(
                "NAMESPACE_NAME_RESERVED",
                f"'{namespace_id}' is reserved",
                precondition_violations=[
                    PreconditionViolation("RESERVED", namespace_id, "reserved name")
                ],
            )
        sk = skeleton(namespace_id)
        if is_mixed_script(namespace_id) or any(
            sk == skeleton(r) for r in self.config.reserved_namespaces if len(r) > 2
        ):
            raise FailedPrecondition(
                "NAMESPACE_NAME_CONFUSABLE",
                f"'{namespace_id}' looks like a reserved or existing name",
                precondition_violations=[
                    PreconditionViolation("CONFUSABLE", namespace_id, "mixed scripts or confusable")
                ],
            )
        async with self._uow() as uow:
            replay = await self._idempotent(uow, "CreateNamespace", principal, request_id)
            if replay:
                return await self._namespace(uow, replay)
            existing = await uow.repo.get_namespace(namespace_id)
            if existing is not None:
                raise AlreadyExists(
                    "NAMESPACE_EXISTS", f"namespace '{existing.name}' already exists"
                )
            clash = await uow.repo.namespace_by_skeleton(sk)
            if clash is not None:
                raise FailedPrecondition(
                    "NAMESPACE_NAME_CONFUSABLE",
                    f"'{namespace_id}' is confusable with the existing namespace '{clash}'",
                    metadata={"similar_to": clash},
                    precondition_violations=[
                        PreconditionViolation(
                            "CONFUSABLE", namespace_id, f"confusable with {clash}"
                        )
                    ],
                )
            for other in await uow.repo.similar_verified_namespaces(sk):
                if too_similar(namespace_id, other):
                    raise FailedPrecondition(
                        "NAMESPACE_NAME_TOO_SIMILAR",
                        f"'{namespace_id}' is too similar to the verified namespace '{other}'",
                        metadata={"similar_to": other},
                        precondition_violations=[
                            PreconditionViolation("SIMILAR", namespace_id, f"similar to {other}")
                        ],
                    )
            ns = m.Namespace(
                id=str(uuid.uuid4()),
                name=namespace_id,
                display_name=fields.display_name,
                description=fields.description,
                website_url=fields.website_url,
                support_url=fields.support_url,
                owner=owner,
            )
            await uow.repo.insert_namespace(ns, sk)
            if owner.startswith("users/"):
                await uow.repo.insert_member(ns, owner.removeprefix("users/"), m.Role.OWNER)
            await self._remember(uow, "CreateNamespace", principal, request_id, ns.name)
            await uow.commit()
        async with self._uow() as uow:
            return await self._namespace(uow, namespace_id)

    async def get_namespace(self, name: str) -> m.Namespace:
        ns_name = rn.namespace_name(name)
        async with self._uow() as uow:
            return await self._namespace(uow, ns_name)

    async def list_namespaces(
        self,
        principal: Principal,
        member: str,
        owner: str,
        verified_only: bool,
        size: int,
        token: str,
    ) -> m.Page:
        limit = page_size(size)
        query = {"member": member, "owner": owner, "verified": verified_only}
        position = self._page(token, query)
        member_id = ""
        owners: list[str] = []
        if member:
            member_id = (
                self._user(principal)
                if member == "users/me"
                else rn.user_name(member, "member", "FILTER_INVALID")
            )
            orgs = await self.auth.user_organizations(member_id)
            owners = [f"organizations/{o}" for o, _ in orgs] + [f"users/{member_id}"]
        elif owner:
            owners = (
                [f"users/{self._user(principal)}"]
                if owner == "users/me"
                else [rn.owner_name(owner, "owner")]
            )
        async with self._uow() as uow:
            items = await uow.repo.list_namespaces(
                member=member_id,
                owners=owners,
                verified_only=verified_only,
                after=(position or {}).get("after", ""),
                limit=limit + 1,
            )
        next_token = (
            self.pages.encode({"after": items[limit - 1].name}, query) if len(items) > limit else ""
        )
        return m.Page(items[:limit], next_token)

    async def update_namespace(
        self, principal: Principal, patch: m.Namespace, mask: Sequence[str], etag: str
    ) -> m.Namespace:
        ns_name = rn.namespace_name(patch.name, "namespace.name")
        allowed = {"display_name", "description", "website_url", "support_url"}
        paths = list(mask) or [f for f in allowed if getattr(patch, f)]
        for p in paths:
            if p not in allowed:
                raise invalid_field(
                    "update_mask", f"'{p}' cannot be updated", "UPDATE_MASK_INVALID"
                )
        async with self._uow() as uow:
            ns = await self._require_owner(uow, principal, ns_name)
            if etag and etag != namespace_etag(ns):
                raise_etag()
            for p in paths:
                value = getattr(patch, p)
                if p in ("website_url", "support_url"):
                    _check_url(value, f"namespace.{p}", mailto=p == "support_url")
                else:
                    _check_text(value, f"namespace.{p}", 255 if p == "display_name" else MAX_TEXT)
                setattr(ns, p, value)
            await uow.repo.update_namespace(ns)
            await uow.commit()
        return await self.get_namespace(f"namespaces/{ns_name}")

    async def set_namespace_verified(
        self, principal: Principal, name: str, verified: bool
    ) -> m.Namespace:
        ns_name = rn.namespace_name(name)
        await self._require_admin(principal)
        async with self._uow() as uow:
            ns = await self._namespace(uow, ns_name)
            if ns.verified != verified:
                ns.verified = verified
                ns.verify_time = _now() if verified else None
                await uow.repo.update_namespace(ns)
                await uow.commit()
        await self.cache.bump("search")
        return await self.get_namespace(name)

    async def add_member(
        self, principal: Principal, parent: str, user: str, role: int, request_id: str = ""
    ) -> m.Member:
        ns_name = rn.namespace_name(parent, "parent")
        user_id = rn.user_name(user)
        _check_request_id(request_id)
        if role not in (m.Role.OWNER, m.Role.CONTRIBUTOR):
            raise invalid_field("role", "must be OWNER or CONTRIBUTOR", "ROLE_INVALID")
        async with self._uow() as uow:
            ns = await self._require_owner(uow, principal, ns_name)
            replay = await self._idempotent(uow, "AddNamespaceMember", principal, request_id)
            if replay:
                member = await uow.repo.get_member(ns, replay)
                if member:
                    return member
            if not await self.auth.user_exists(user_id):
                raise NotFound("USER_NOT_FOUND", f"user '{user_id}' not found")
            member = await uow.repo.insert_member(ns, user_id, m.Role(role))
            if ns.frozen and role == m.Role.OWNER:
                ns.frozen = False
                await uow.repo.update_namespace(ns)
            await self._remember(uow, "AddNamespaceMember", principal, request_id, user_id)
            await uow.commit()
            return member

    async def list_members(
        self, principal: Principal, parent: str, size: int, token: str
    ) -> m.Page:
        ns_name = rn.namespace_name(parent, "parent")
        limit = page_size(size)
        position = self._page(token, {"parent": ns_name.lower()})
        async with self._uow() as uow:
            self._user(principal)
            ns = await self._namespace(uow, ns_name)
            role, _ = await self._role(uow, ns, principal.user_id)
            if role == m.Role.NONE and not await self._is_admin(principal):
                raise access_denied(ns.name)
            after = (position["role"], position["user"]) if position else None
            items = await uow.repo.list_members(ns, after, limit + 1)
        token_out = ""
        if len(items) > limit:
            last = items[limit - 1]
            token_out = self.pages.encode(
                {"role": int(last.role), "user": last.user_id}, {"parent": ns_name.lower()}
            )
        return m.Page(items[:limit], token_out)

    async def update_member(
        self, principal: Principal, name: str, role: int, mask: Sequence[str], etag: str
    ) -> m.Member:
        ns_name, user_id = rn.member_name(name, "namespace_member.name")
        if mask and list(mask) != ["role"]:
            raise invalid_field("update_mask", "only 'role' can be updated", "UPDATE_MASK_INVALID")
        if role not in (m.Role.OWNER, m.Role.CONTRIBUTOR):
            raise invalid_field(
                "namespace_member.role", "must be OWNER or CONTRIBUTOR", "ROLE_INVALID"
            )
        async with self._uow() as uow:
            ns = await self._require_owner(uow, principal, ns_name)
            await uow.repo.get_namespace(ns_name, lock=True)
            member = await uow.repo.get_member(ns, user_id, lock=True)
            if member is None:
                raise not_found("NamespaceMember", name, "MEMBER_NOT_FOUND")
            if etag and etag != member_etag(member):
                raise_etag()
            if (
                member.role == m.Role.OWNER
                and role != m.Role.OWNER
                and await uow.repo.count_owners(ns) <= 1
                and ns.owner.startswith("users/")
            ):
                raise FailedPrecondition("LAST_OWNER", "a namespace keeps at least one owner")
            member = await uow.repo.update_member_role(member, m.Role(role))
            await uow.commit()
            return member

    async def remove_member(self, principal: Principal, name: str) -> None:
        ns_name, user_id = rn.member_name(name)
        caller = self._user(principal)
        async with self._uow() as uow:
            ns = await self._namespace(uow, ns_name)
            await uow.repo.get_namespace(ns_name, lock=True)
            if caller != user_id:
                ns = await self._require_owner(uow, principal, ns_name)
            member = await uow.repo.get_member(ns, user_id, lock=True)
            if member is None:
                raise not_found("NamespaceMember", name, "MEMBER_NOT_FOUND")
            if (
                member.role == m.Role.OWNER
                and await uow.repo.count_owners(ns) <= 1
                and ns.owner.startswith("users/")
            ):
                raise FailedPrecondition(
                    "LAST_OWNER", "a namespace keeps at least one owner; add another owner first"
                )
            await uow.repo.delete_member(member)
            await uow.commit()

    # ================================================================ extensions and versions

    async def _fill_versions(
        self, uow: RegistryUnitOfWork, exts: Sequence[m.Extension], platform: str
    ) -> None:
        """Sets each extension's latest (and newer pre-release) build and the fields shown from
        it; one statement for all of them."""
        builds = await uow.repo.newest_builds([e.id for e in exts], platform or None)
        for ext in exts:
            stable, pre = builds.get(ext.id, (None, None))
            ext.latest_version = stable or pre
            ext.pre_release_version = None
            if pre and stable and SemVer.parse(pre.version) > SemVer.parse(stable.version):  # type: ignore[operator]
                ext.pre_release_version = pre
            if ext.latest_version is not None:
                ext.display_name = ext.latest_version.display_name
                ext.description = ext.latest_version.description
                ext.categories = ext.latest_version.categories
                ext.tags = ext.latest_version.tags

    async def get_extension(
        self, principal: Principal, name: str, platform: str = ""
    ) -> m.Extension:
        ns_name, ext_name = rn.extension_name(name)
        _check_platform(platform)
        key = f"ext:{ns_name.lower()}.{ext_name.lower()}:{platform}"
        now = time.monotonic()
        known = self._decoded.get(key)
        if known is not None and now < known[0]:
            return known[2]
        cached = await self.cache.get(key)
        if cached is not None:
            until = now + self.config.local_cache_ttl
            if known is not None and known[1] == cached:
                self._decoded[key] = (until, cached, known[2])
                return known[2]
            with contextlib.suppress(ValueError, KeyError, TypeError):
                decoded: m.Extension = m.from_jsonable(m.Extension, json.loads(cached))
                if len(self._decoded) >= DECODED_ENTRIES:
                    self._decoded.clear()
                self._decoded[key] = (until, cached, decoded)
                return decoded
        async with self._uow() as uow:
            ext = await self._extension(uow, ns_name, ext_name, principal)
            visible = ext.__dict__.get("has_visible")
            await self._fill_versions(uow, [ext], platform)
        if visible:
            await self.cache.set(
                key, json.dumps(m.to_jsonable(ext)).encode(), self.config.cache_ttl
            )
        return ext

    async def list_extensions(
        self, principal: Principal, parent: str, size: int, token: str
    ) -> m.Page:
        ns_name = rn.namespace_name(parent, "parent")
        limit = page_size(size)
        position = self._page(token, {"parent": ns_name.lower()})
        async with self._uow() as uow:
            ns = await self._namespace(uow, ns_name)
            hidden = await self._can_see_hidden(uow, principal, ns_name)
            items = await uow.repo.list_extensions(
                ns.id,
                include_hidden=hidden,
                after=(position or {}).get("after", ""),
                limit=limit + 1,
            )
            await self._fill_versions(uow, items[:limit], "")
        token_out = (
            self.pages.encode({"after": items[limit - 1].name}, {"parent": ns_name.lower()})
            if len(items) > limit
            else ""
        )
        return m.Page(items[:limit], token_out)

    async def list_versions(
        self,
        principal: Principal,
        parent: str,
        platform: str,
        include_inactive: bool,
        size: int,
        token: str,
    ) -> m.Page:
        ns_name, ext_name = rn.extension_name(parent, "parent")
        _check_platform(platform)
        limit = page_size(size)
        query = {"parent": parent.lower(), "platform": platform, "inactive": include_inactive}
        offset = int((self._page(token, query) or {}).get("offset", 0))
        async with self._uow() as uow:
            if include_inactive and not await self._can_see_hidden(uow, principal, ns_name):
                self._user(principal)
                raise access_denied(ns_name)
            ext = await self._extension(uow, ns_name, ext_name, principal)
            items = await uow.repo.find_versions(
                ext.id,
                platform=platform or None,
                visible_only=not include_inactive,
                offset=offset,
                limit=limit + 1,
            )
        token_out = (
            self.pages.encode({"offset": offset + limit}, query) if len(items) > limit else ""
        )
        return m.Page(items[:limit], token_out)

    async def _resolve(
        self,
        uow: RegistryUnitOfWork,
        principal: Principal | None,
        ns_name: str,
        ext_name: str,
        version: str,
        platform: str,
        *,
        visible_only: bool = True,
    ) -> m.Version:
        _check_platform(platform)
        ext = await self._extension(uow, ns_name, ext_name, principal)
        if not visible_only and principal is not None:
            visible_only = not await self._can_see_hidden(uow, principal, ns_name)
        if version in rn.ALIASES:
            found = await uow.repo.find_versions(
                ext.id,
                platform=platform or None,
                alias=version,
                include_yanked=False,
                visible_only=visible_only,
                limit=1,
            )
            if not found and version == "latest":
                found = await uow.repo.find_versions(
                    ext.id,
                    platform=platform or None,
                    alias="pre-release",
                    include_yanked=False,
                    visible_only=visible_only,
                    limit=1,
                )
        else:
            builds = await uow.repo.find_versions(
                ext.id, version=version, visible_only=visible_only
            )
            if platform:
                found = [b for b in builds if b.target_platform == platform] or [
                    b for b in builds if b.target_platform == "universal"
                ]
            else:
                universal = [b for b in builds if b.target_platform == "universal"]
                if universal or len(builds) <= 1:
                    found = universal or builds
                else:
                    raise invalid_field(
                        "target_platform",
                        "this version has several platform builds; name one",
                        "TARGET_PLATFORM_REQUIRED",
                    )
        if not found:
            raise not_found(
                "Version",
                f"namespaces/{ns_name}/extensions/{ext_name}/versions/{version}",
                "VERSION_NOT_FOUND",
            )
        return found[0]

    async def get_version(self, principal: Principal, name: str, platform: str = "") -> m.Version:
        ns_name, ext_name, version = rn.version_name(name)
        async with self._uow() as uow:
            return await self._resolve(
                uow, principal, ns_name, ext_name, version, platform, visible_only=False
            )

    async def get_version_file(
        self, principal: Principal, name: str, platform: str = "", path: str = ""
    ) -> tuple[m.Version, str, tuple[str, str, int, str, bytes]]:
        head, _, kind = name.rpartition("/files/")
        if kind not in ("readme", "changelog", "icon", "manifest", "license", "entry"):
            raise invalid_field(
                "name",
                "the file must be readme, changelog, icon, manifest, license or entry",
                "FILE_INVALID",
            )
        if (kind == "entry") != bool(path):
            raise invalid_field(
                "path", "is the entry's path, given with (and only with) 'entry'", "FILE_INVALID"
            )
        ns_name, ext_name, version = rn.version_name(head)
        found: tuple[str, str, int, str, bytes] | None = None
        entry: dict[str, Any] | None = None
        async with self._uow() as uow:
            v = await self._resolve(
                uow, principal, ns_name, ext_name, version, platform, visible_only=False
            )
            if kind != "entry":
                found = await uow.repo.version_file(v.id, kind)
            elif v.scan_state == m.ScanState.PASSED and not v.unpublished:
                # Like downloads, package files only of a version whose scan PASSED.
                entries = await uow.repo.version_entries(v.id)
                entry = next((e for e in entries if e["path"] == path), None)
        if kind == "entry":
            if entry is None:
                raise not_found("VersionFile", f"{name}:{path}"[:300], "FILE_NOT_FOUND")
            # Read after the unit of work ends: the blob store takes connections of its own.
            return v, kind, await self._package_entry(v, entry)
        if found is None:
            raise not_found("VersionFile", name, "FILE_NOT_FOUND")
        return v, kind, found

    async def _package_entry(
        self, v: m.Version, entry: dict[str, Any]
    ) -> tuple[str, str, int, str, bytes]:
        """A file inside the package (a web extension's resources, say), read out of the
        stored blob and checked against the signed manifest."""
        path = entry["path"]
        if entry["size"] > ENTRY_FILE_MAX_BYTES:
            raise FailedPrecondition(
                "FILE_TOO_LARGE",
                f"files over {ENTRY_FILE_MAX_BYTES} bytes are served only in the package",
            )
        try:
            content = await read_entry(
                self.blobs, v.package_sha256, v.package_size, path, ENTRY_FILE_MAX_BYTES
            )
        except (FileNotFoundError, KeyError, zipfile.BadZipFile):
            raise DataLoss("BLOB_CORRUPT", "the package's stored bytes are missing") from None
        sha256 = hashlib.sha256(content).hexdigest()
        if sha256 != entry["sha256"] or len(content) != entry["size"]:
            raise DataLoss("BLOB_CORRUPT", "a file of the stored package differs from its manifest")
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return path, content_type, len(content), sha256, content

    # ================================================================ publishing

    async def upload_package(
        self, principal: Principal, hints: UploadHints, chunks: AsyncIterator[bytes]
    ) -> tuple[m.Version, m.Scan]:
        user = self._user(principal)
        _check_request_id(hints.request_id)
        if not self._has_any_publish_scope(principal):
            raise scope_denied()
        limits = self.config.limits
        if hints.size_bytes < 0 or hints.size_bytes > limits.max_package_bytes:
            raise reject(
                "PACKAGE_TOO_LARGE",
                f"the package may be at most {limits.max_package_bytes} bytes",
                "metadata.size_bytes",
            )
        if hints.sha256 and not re.fullmatch(r"[0-9a-f]{64}", hints.sha256):
            raise invalid_field(
                "metadata.sha256",
                "must be 64 lowercase hexadecimal characters",
                "PACKAGE_SHA256_MISMATCH",
            )
        _check_platform(hints.target_platform, "metadata.target_platform")
        if hints.request_id:
            async with self._uow() as uow:
                replay = await self._idempotent(uow, "UploadPackage", principal, hints.request_id)
                if replay:
                    version = await uow.repo.version_by_id(replay)
                    scan = await uow.repo.get_scan(version.scan_id) if version else None
                    if version and scan:
                        return version, scan
        if hints.namespace and is_valid_name(hints.namespace):
            # Refuse a stranger before reading the package.
            async with self._uow() as uow:
                ns = await uow.repo.get_namespace(hints.namespace)
                if ns is not None:
                    await self._authorize_publish(uow, principal, ns)
        fd, path = tempfile.mkstemp(
            prefix="symphony-upload-", suffix=".vsix", dir=self.config.spool_dir or None
        )
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "w+b") as spool:
                async for chunk in chunks:
                    if len(chunk) > MAX_CHUNK:
                        raise reject(
                            "UPLOAD_CHUNK_TOO_LARGE",
                            f"chunks may be at most {MAX_CHUNK} bytes",
                            "chunk",
                        )
                    size += len(chunk)
                    if size > limits.max_package_bytes:
                        raise reject(
                            "PACKAGE_TOO_LARGE",
                            f"the package is larger than {limits.max_package_bytes} bytes",
                        )
                    digest.update(chunk)
                    spool.write(chunk)
                spool.flush()
                sha = digest.hexdigest()
                if size == 0:
                    raise reject("UPLOAD_EMPTY", "no package bytes were sent")
                if hints.size_bytes and hints.size_bytes != size:
                    raise reject(
                        "PACKAGE_SIZE_MISMATCH",
                        f"received {size} bytes, announced {hints.size_bytes}",
                        "metadata.size_bytes",
                    )
                if hints.sha256 and hints.sha256 != sha:
                    raise reject(
                        "PACKAGE_SHA256_MISMATCH",
                        "the received bytes do not match the announced SHA-256",
                        "metadata.sha256",
                    )
                info = await asyncio.to_thread(validate_package, spool, size, limits)
            check_hints(
                info,
                namespace=hints.namespace,
                target_platform=hints.target_platform,
                pre_release=hints.pre_release,
            )
            return await self._store_upload(principal, user, info, path, size, sha, hints)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    async def _authorize_publish(
        self, uow: RegistryUnitOfWork, principal: Principal, ns: m.Namespace
    ) -> None:
        role, _ = await self._role(uow, ns, principal.user_id)
        if (role == m.Role.NONE or ns.frozen) and not await self._is_admin(principal):
            raise PermissionDenied(
                "NAMESPACE_ACCESS_DENIED",
                f"you may not publish to namespace '{ns.name}'"
                + (" (it is frozen)" if ns.frozen else ""),
            )
        self._require_scope(principal, ns.name)

    async def _store_upload(
        self,
        principal: Principal,
        user: str,
        info: PackageInfo,
        path: str,
        size: int,
        sha: str,
        hints: UploadHints,
    ) -> tuple[m.Version, m.Scan]:
        key = self._signing_key or await self.ensure_signing_key()
        async with self._uow() as uow:
            ns = await uow.repo.get_namespace(info.namespace)
            if ns is None:
                raise not_found("Namespace", f"namespaces/{info.namespace}", "NAMESPACE_NOT_FOUND")
            await self._authorize_publish(uow, principal, ns)
            ext = await uow.repo.get_extension(ns.name, info.name)
            if ext is not None:
                await self._check_version_free(uow, ext.id, info)
                ext_name = ext.name
            else:
                clash = await uow.repo.extension_by_skeleton(ns.id, skeleton(info.name))
                if clash is not None:
                    raise FailedPrecondition(
                        "EXTENSION_NAME_CONFUSABLE",
                        f"'{info.name}' is confusable with '{clash}' in this namespace",
                        metadata={"similar_to": f"{ns.name}.{clash}"},
                    )
                ext_name = info.name
        ext_id_str = f"{ns.name}.{ext_name}"
        manifest = canonical_manifest(
            extension_id=ext_id_str,
            version=info.version,
            target_platform=info.target_platform,
            package_sha256=sha,
            package_size=size,
            entries=[(e.path, e.sha256, e.size) for e in info.entries],
        )
        signature = m.Signature(key.id, sign(key.private_key, manifest), manifest)
        await self.blobs.put(sha, size, path)
        try:
            version, scan = await self._insert_version(
                principal, user, ns, info, ext_name, size, sha, signature, hints
            )
        except BaseException:
            with contextlib.suppress(Exception):
                async with self._uow() as uow:
                    referenced = await uow.repo.blob_referenced(sha)
                if not referenced:
                    await self.blobs.delete(sha)
            raise
        return version, scan

    async def _check_version_free(
        self, uow: RegistryUnitOfWork, extension_id: str, info: PackageInfo
    ) -> list[str]:
        """Errored builds of the same (version, platform) are replaced: publishing again retries."""
        if await uow.repo.any_version_string(extension_id, info.version):
            raise FailedPrecondition(
                "VERSION_UNPUBLISHED",
                f"version {info.version} was unpublished; its number is never reused",
            )
        replace = []
        for row_id, unpublished, state in await uow.repo.version_tombstones(
            extension_id, info.version, info.target_platform
        ):
            if unpublished:
                raise FailedPrecondition(
                    "VERSION_UNPUBLISHED",
                    f"version {info.version} was unpublished; its number is never reused",
                )
            if state == m.ScanState.ERRORED:
                replace.append(row_id)
                continue
            raise AlreadyExists(
                "VERSION_EXISTS",
                f"version {info.version} ({info.target_platform}) already exists",
                resource=_version_ref(info, ""),
            )
        return replace

    async def _insert_version(
        self,
        principal: Principal,
        user: str,
        ns: m.Namespace,
        info: PackageInfo,
        ext_name: str,
        size: int,
        sha: str,
        signature: m.Signature,
        hints: UploadHints,
    ) -> tuple[m.Version, m.Scan]:
        for attempt in range(3):
            try:
                async with self._uow() as uow:
                    ext = await uow.repo.get_extension(ns.name, ext_name, lock=True)
                    if ext is None:
                        extension_uuid = await uow.repo.insert_extension(
                            ns, ext_name, skeleton(ext_name)
                        )
                    else:
                        extension_uuid = ext.id
                        for row_id in await self._check_version_free(uow, ext.id, info):
                            await uow.repo.delete_version(row_id)
                    version = m.Version(
                        id=str(uuid.uuid4()),
                        extension_id=extension_uuid,
                        namespace=ns.name,
                        extension=ext_name,
                        version=info.version,
                        target_platform=info.target_platform,
                        pre_release=info.pre_release,
                        display_name=info.display_name,
                        description=info.description,
                        categories=info.categories,
                        tags=info.tags,
                        license=info.license,
                        homepage_url=info.homepage_url,
                        repository_url=info.repository_url,
                        bugs_url=info.bugs_url,
                        engines=info.engines,
                        dependencies=info.dependencies,
                        bundled_extensions=info.bundled_extensions,
                        files={
                            k: m.FileRef(p, c, len(b), hashlib.sha256(b).hexdigest())
                            for k, (p, c, b) in info.files.items()
                        },
                        package_size=size,
                        package_sha256=sha,
                        signature=signature,
                        scan_state=m.ScanState.STARTED,
                        publisher_id=user,
                    )
                    files = {
                        k: (p, c, b, hashlib.sha256(b).hexdigest())
                        for k, (p, c, b) in info.files.items()
                    }
                    entries = [
                        {
                            "path": e.path,
                            "sha256": e.sha256,
                            "size": e.size,
                            "compressed_size": e.compressed_size,
                        }
                        for e in info.entries
                    ]
                    await uow.repo.insert_version(version, info.semver.sort_key(), entries, files)
                    now = _now()
                    scan = m.Scan(
                        id=str(uuid.uuid4()),
                        version_id=version.id,
                        namespace=ns.name,
                        extension=ext_name,
                        version=info.version,
                        target_platform=info.target_platform,
                        publisher_id=user,
                        package_sha256=sha,
                        state=m.ScanState.STARTED,
                        checks=[m.CheckRun(m.Check.VALIDATION, m.CheckState.PASSED, now, now)]
                        + [
                            m.CheckRun(c, m.CheckState.PENDING)
                            for c in (
                                m.Check.SECRETS,
                                m.Check.BLOCKLIST,
                                m.Check.NAME_SIMILARITY,
                                m.Check.ARCHIVE_FEATURES,
                            )
                        ],
                    )
                    await uow.repo.insert_scan(scan)
                    await self._remember(
                        uow, "UploadPackage", principal, hints.request_id, version.id
                    )
                    await uow.commit()
                break
            except AlreadyExists as error:
                if error.reason != "CONCURRENT_MODIFICATION" or attempt == 2:
                    raise
        async with self._uow() as uow:
            stored = await uow.repo.version_by_id(version.id)
            stored_scan = await uow.repo.get_scan(scan.id)
        assert stored is not None and stored_scan is not None
        log.info(
            "package accepted",
            extra={"extension": f"{ns.name}.{ext_name}", "version": info.version, "scan": scan.id},
        )
        return stored, stored_scan

    async def _scan_access(
        self, uow: RegistryUnitOfWork, principal: Principal, scan: m.Scan
    ) -> None:
        if scan.publisher_id == principal.user_id:
            return
        if await self._can_see_hidden(uow, principal, scan.namespace):
            return
        raise PermissionDenied(
            "SCAN_ACCESS_DENIED",
            "only the publisher, the namespace's members and administrators see a scan",
        )

    async def get_scan(self, principal: Principal, name: str) -> m.Scan:
        scan_id = rn.single(name, "publishing/scans")
        self._user(principal)
        async with self._uow() as uow:
            scan = await uow.repo.get_scan(scan_id)
            if scan is None:
                raise not_found("Scan", name, "SCAN_NOT_FOUND")
            await self._scan_access(uow, principal, scan)
            return scan

    async def list_scans(
        self,
        principal: Principal,
        namespace: str,
        extension: str,
        state: int,
        size: int,
        token: str,
    ) -> m.Page:
        self._user(principal)
        ns_name = (
            rn.namespace_name(namespace, "namespace", "NAMESPACE_INVALID") if namespace else ""
        )
        ext_name = ""
        if extension:
            e_ns, ext_name = rn.extension_name(extension, "extension", "NAMESPACE_INVALID")
            if ns_name and e_ns.lower() != ns_name.lower():
                raise invalid_field(
                    "extension", "must be in the namespace given", "NAMESPACE_INVALID"
                )
            ns_name = e_ns
        if state and state not in set(m.ScanState):
            raise invalid_field("state", "unknown scan state", "STATE_INVALID")
        limit = page_size(size)
        query = {"ns": ns_name.lower(), "ext": ext_name.lower(), "state": state}
        position = self._page(token, query)
        async with self._uow() as uow:
            if ns_name:
                await self._namespace(uow, ns_name)
                if not await self._can_see_hidden(uow, principal, ns_name):
                    raise access_denied(ns_name)
            elif not await self._is_admin(principal):
                raise admin_required()
            before = (position["t"], position["id"]) if position else None
            items = await uow.repo.list_scans(
                namespace=ns_name, extension=ext_name, state=state, before=before, limit=limit + 1
            )
        token_out = ""
        if len(items) > limit:
            last = items[limit - 1]
            token_out = self.pages.encode(
                {"t": last.create_time.isoformat() if last.create_time else "", "id": last.id},
                query,
            )
        return m.Page(items[:limit], token_out)

    async def decide_quarantine(
        self, principal: Principal, name: str, allow: bool, reason: str, etag: str
    ) -> m.Scan:
        scan_id = rn.single(name, "publishing/scans", "scan")
        if len(reason) > MAX_TEXT or _bad_text(reason) or (not allow and not reason.strip()):
            raise invalid_field(
                "reason", "a reason of at most 2048 characters is required", "REASON_INVALID"
            )
        admin = await self._require_admin(principal)
        async with self._uow() as uow:
            scan = await uow.repo.get_scan(scan_id, lock=True)
            if scan is None:
                raise not_found("Scan", name, "SCAN_NOT_FOUND")
            if etag and etag != scan_etag(scan):
                raise_etag()
            if scan.state != m.ScanState.QUARANTINED:
                raise FailedPrecondition(
                    "SCAN_NOT_QUARANTINED", "only a quarantined version awaits a decision"
                )
            scan.state = m.ScanState.PASSED if allow else m.ScanState.REJECTED
            scan.decision = m.Decision(allow, f"users/{admin}", reason, _now())
            await uow.repo.update_scan(scan)
            await uow.repo.set_version_state(scan.version_id, scan.state)
            version = await uow.repo.version_by_id(scan.version_id)
            if version is not None:
                await uow.repo.refresh_extension(version.extension_id)
            await uow.commit()
        await self.invalidate(scan.namespace, scan.extension)
        return await self.get_scan(principal, f"publishing/scans/{scan_id}")

    async def list_blocklist(self, principal: Principal, size: int, token: str) -> m.Page:
        await self._require_admin(principal)
        limit = page_size(size)
        position = self._page(token, {})
        async with self._uow() as uow:
            before = (position["t"], position["id"]) if position else None
            items = await uow.repo.list_blocklist(before, limit + 1)
        token_out = ""
        if len(items) > limit:
            last = items[limit - 1]
            token_out = self.pages.encode(
                {"t": last.create_time.isoformat() if last.create_time else "", "id": last.id}, {}
            )
        return m.Page(items[:limit], token_out)

    async def create_blocklist_entry(
        self, principal: Principal, sha256: str, reason: str, request_id: str = ""
    ) -> m.BlocklistEntry:
        sha = sha256.lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise invalid_field(
                "blocklist_entry.sha256", "must be 64 hexadecimal characters", "SHA256_INVALID"
            )
        if not reason.strip() or len(reason) > MAX_TEXT or _bad_text(reason):
            raise invalid_field(
                "blocklist_entry.reason",
                "a reason of at most 2048 characters is required",
                "REASON_INVALID",
            )
        _check_request_id(request_id)
        admin = await self._require_admin(principal)
        async with self._uow() as uow:
            replay = await self._idempotent(uow, "CreateBlocklistEntry", principal, request_id)
            if replay:
                found = await uow.repo.get_blocklist(replay)
                if found:
                    return found
            entry = await uow.repo.insert_blocklist(
                m.BlocklistEntry(str(uuid.uuid4()), sha, reason, f"users/{admin}")
            )
            await self._remember(uow, "CreateBlocklistEntry", principal, request_id, sha)
            await uow.commit()
            return entry

    async def delete_blocklist_entry(self, principal: Principal, name: str) -> None:
        sha = rn.single(name, "publishing/blocklist")
        await self._require_admin(principal)
        async with self._uow() as uow:
            if not await uow.repo.delete_blocklist(sha.lower()):
                raise not_found("BlocklistEntry", name, "BLOCKLIST_ENTRY_NOT_FOUND")
            await uow.commit()

    # ================================================================ downloads

    async def download(self, name: str, platform: str, offset: int, length: int) -> DownloadPlan:
        ns_name, ext_name, version = rn.version_name(name)
        if offset < 0 or length < 0:
            raise invalid_field(
                "offset" if offset < 0 else "length", "must not be negative", "RANGE_INVALID"
            )
        async with self._uow() as uow:
            # Downloads never see a version whose scan has not PASSED, members included.
            v = await self._resolve(
                uow, None, ns_name, ext_name, version, platform, visible_only=True
            )
            if v.scan_state != m.ScanState.PASSED or v.unpublished:
                raise not_found("Version", name, "VERSION_NOT_FOUND")
            if offset > 0 and offset >= v.package_size:
                raise OutOfRange("RANGE_NOT_SATISFIABLE", f"the package has {v.package_size} bytes")
            span = v.package_size - offset if length == 0 else min(length, v.package_size - offset)
            # Only a whole package counts: a probe of its first bytes, a resumed download and
            # the pieces of a split one are not downloads of their own.
            if offset == 0 and span == v.package_size:
                await uow.repo.count_download(v, _now().date())
                await uow.commit()
        suffix = "" if v.target_platform == "universal" else f"@{v.target_platform}"
        file_name = f"{v.namespace}.{v.extension}-{v.version}{suffix}.vsix"
        return DownloadPlan(v, offset, span, file_name, self._verified_chunks(v, offset, span))

    async def _verified_chunks(
        self, v: m.Version, offset: int, length: int
    ) -> AsyncIterator[bytes]:
        """Streams the blob; a whole-package read is checked against its SHA-256 and ends in
        BLOB_CORRUPT (DATA_LOSS) when the stored bytes changed."""
        digest = hashlib.sha256() if offset == 0 and length == v.package_size else None
        sent = 0
        try:
            async for chunk in self.blobs.read(v.package_sha256, offset, length):
                sent += len(chunk)
                if digest is not None:
                    digest.update(chunk)
                yield chunk
        except FileNotFoundError:
            raise DataLoss("BLOB_CORRUPT", "the package's stored bytes are missing") from None
        if sent != length or (digest is not None and digest.hexdigest() != v.package_sha256):
            raise DataLoss(
                "BLOB_CORRUPT", "the package's stored bytes no longer match their SHA-256"
            )

    # ================================================================ search and updates

    async def search(self, query: m.SearchQuery) -> m.Page:
        if len(query.text) > 256:
            raise invalid_field("query", "at most 256 characters", "QUERY_TOO_LONG")
        if len(query.category) > 64 or _bad_text(query.category):
            raise invalid_field("category", "at most 64 characters", "CATEGORY_INVALID")
        if len(query.tag) > 64 or _bad_text(query.tag):
            raise invalid_field("tag", "at most 64 characters", "TAG_INVALID")
        _check_platform(query.target_platform)
        if query.sort_by not in set(m.SortBy):
            raise invalid_field("sort_by", "unknown sort order", "SORT_BY_INVALID")
        if _bad_text(query.text):
            raise invalid_field("query", "must not contain control characters", "QUERY_TOO_LONG")
        query.global_mean = self.global_mean[0]
        return await self._search_cached(query)

    async def _search_cached(self, query: m.SearchQuery) -> m.Page:
        generation = await self.cache.generation("search")
        key = ""
        if generation:
            raw = json.dumps(m.to_jsonable(query), sort_keys=True)
            key = f"search:{generation}:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"
            cached = await self.cache.get(key)
            if cached is not None:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    data = json.loads(cached)
                    return m.Page(
                        [m.from_jsonable(m.SearchHit, h) for h in data["items"]], "", data["total"]
                    )
        async with self._uow() as uow:
            hits, total = await uow.repo.search(query)
            exts = await uow.repo.extensions_by_ids([h[0] for h in hits])
            results = [m.SearchHit(exts[i], parts) for i, parts in hits if i in exts]
            await self._fill_versions(uow, [r.extension for r in results], query.target_platform)
        if key:
            body = json.dumps({"items": m.to_jsonable(results), "total": total}).encode()
            await self.cache.set(key, body, self.config.cache_ttl)
        return m.Page(results, "", total)

    async def check_updates(
        self,
        installed: Sequence[tuple[str, str]],
        editor_version: str,
        vscode_version: str,
        platform: str,
        include_pre_release: bool,
    ) -> list[dict[str, Any]]:
        if len(installed) > 1000:
            raise invalid_field("extensions", "at most 1000 extensions", "TOO_MANY_EXTENSIONS")
        editor = SemVer.parse(editor_version)
        if editor is None:
            raise invalid_field("editor_version", "must be SemVer", "EDITOR_VERSION_INVALID")
        vscode = SemVer.parse(vscode_version) if vscode_version else None
        if vscode_version and vscode is None:
            raise invalid_field(
                "vscode_compatibility_version", "must be SemVer", "EDITOR_VERSION_INVALID"
            )
        if not platform or platform not in TARGET_PLATFORMS:
            raise invalid_field(
                "target_platform", "a known target platform is required", "TARGET_PLATFORM_INVALID"
            )
        parsed = []
        for i, (ext_id, version) in enumerate(installed):
            ns, ext = rn.parse_extension_id(ext_id, f"extensions[{i}].extension_id")
            if SemVer.parse(version) is None:
                raise invalid_field(f"extensions[{i}].version", "must be SemVer", "VERSION_INVALID")
            parsed.append((ext_id, ns, ext, version))
        answers = []
        async with self._uow() as uow:
            for ext_id, ns, ext_name, version in parsed:
                answer: dict[str, Any] = {
                    "extension_id": ext_id,
                    "installed_version": version,
                    "found": False,
                    "latest": None,
                    "update_available": False,
                    "withdrawn": False,
                    "deprecation": None,
                }
                ext = await uow.repo.get_extension(ns, ext_name)
                if ext is None or not ext.__dict__.get("has_visible"):
                    answers.append(answer)
                    continue
                answer["found"] = True
                answer["deprecation"] = ext.deprecation
                builds = await uow.repo.find_versions(
                    ext.id, platform=platform, alias="any", include_yanked=False, limit=500
                )
                installed_builds = await uow.repo.find_versions(
                    ext.id, version=version, visible_only=False
                )
                answer["withdrawn"] = (
                    bool(installed_builds) and all(b.yanked for b in installed_builds)
                ) or (not installed_builds and await uow.repo.any_version_string(ext.id, version))
                for b in builds:
                    if b.pre_release and not include_pre_release:
                        continue
                    if _compatible(b, editor, vscode):
                        answer["latest"] = b
                        answer["update_available"] = SemVer.parse(b.version) > SemVer.parse(version)  # type: ignore[operator]
                        break
                answers.append(answer)
        return answers

    # ================================================================ reviews

    def _review_fields(self, rating: int, title: str, text: str, prefix: str = "review") -> None:
        if not 1 <= rating <= 5:
            raise invalid_field(f"{prefix}.rating", "must be 1 to 5", "RATING_OUT_OF_RANGE")
        if not title.strip() or len(title) > 120 or _bad_text(title):
            raise invalid_field(
                f"{prefix}.title", "1 to 120 characters without control characters", "TITLE_INVALID"
            )
        if len(text) > 4000:
            raise invalid_field(f"{prefix}.text", "at most 4000 characters", "TEXT_TOO_LONG")
        if _bad_text(text):
            raise invalid_field(
                f"{prefix}.text", "must not contain control characters", "TEXT_INVALID"
            )

    async def list_reviews(
        self, principal: Principal, parent: str, size: int, token: str, author: str = ""
    ) -> tuple[m.Page, m.ReviewSummary]:
        ns_name, ext_name = rn.extension_name(parent, "parent")
        limit = page_size(size)
        query = {"parent": parent.lower(), "author": author}
        position = self._page(token, query)
        author_id = None
        if author:
            author_id = (
                self._user(principal)
                if author == "users/me"
                else rn.user_name(author, "author", "FILTER_INVALID")
            )
        async with self._uow() as uow:
            ext = await self._extension(uow, ns_name, ext_name)
            before = (position["t"], position["id"]) if position else None
            items = await uow.repo.list_reviews(ext.id, before, limit + 1, author_id)
        token_out = ""
        if len(items) > limit:
            last = items[limit - 1]
            token_out = self.pages.encode(
                {"t": last.create_time.isoformat() if last.create_time else "", "id": last.id},
                query,
            )
        return m.Page(items[:limit], token_out), ext.review_summary

    async def create_review(
        self,
        principal: Principal,
        parent: str,
        rating: int,
        title: str,
        text: str,
        version: str,
        request_id: str = "",
    ) -> m.Review:
        ns_name, ext_name = rn.extension_name(parent, "parent")
        user = self._user(principal)
        self._require_registry_scope(principal)
        self._review_fields(rating, title, text)
        _check_request_id(request_id)
        if version and SemVer.parse(version) is None:
            raise invalid_field("review.version", "must be SemVer", "VERSION_INVALID")
        display = await self.auth.user_display_name(user)
        async with self._uow() as uow:
            replay = await self._idempotent(uow, "CreateReview", principal, request_id)
            if replay:
                found = await uow.repo.get_review(replay)
                if found:
                    return found
            ext = await self._extension(uow, ns_name, ext_name)
            if version:
                if not await uow.repo.find_versions(ext.id, version=version):
                    raise not_found("Version", f"{parent}/versions/{version}", "VERSION_NOT_FOUND")
            else:
                latest = await uow.repo.find_versions(
                    ext.id, alias="latest", include_yanked=False, limit=1
                )
                version = latest[0].version if latest else ""
            await uow.repo.lock_extension_row(ext.id)
            review = await uow.repo.insert_review(
                m.Review(
                    str(uuid.uuid4()),
                    ext.id,
                    ns_name,
                    ext_name,
                    user,
                    display,
                    rating,
                    title,
                    text,
                    version,
                )
            )
            await uow.repo.recompute_review_aggregates(ext.id)
            await self._remember(uow, "CreateReview", principal, request_id, review.id)
            await uow.commit()
        await self.invalidate(ext.namespace, ext.name)
        return review

    async def update_review(
        self, principal: Principal, name: str, patch: dict[str, Any], mask: Sequence[str], etag: str
    ) -> m.Review:
        ns_name, ext_name, review_id = rn.review_name(name, "review.name")
        user = self._user(principal)
        self._require_registry_scope(principal)
        allowed = {"rating", "title", "text", "version"}
        paths = list(mask) or [k for k in allowed if patch.get(k) not in (None, "", 0)]
        for p in paths:
            if p not in allowed:
                raise invalid_field(
                    "update_mask", f"'{p}' cannot be updated", "UPDATE_MASK_INVALID"
                )
        async with self._uow() as uow:
            review = await uow.repo.get_review(review_id, lock=True)
            if (
                review is None
                or review.namespace.lower() != ns_name.lower()
                or review.extension.lower() != ext_name.lower()
            ):
                raise not_found("Review", name, "REVIEW_NOT_FOUND")
            if review.author_id != user:
                raise PermissionDenied("REVIEW_NOT_OWNED", "you can only edit your own review")
            if etag and etag != review_etag(review):
                raise_etag()
            for p in paths:
                setattr(review, p, patch.get(p) if patch.get(p) is not None else getattr(review, p))
            self._review_fields(review.rating, review.title, review.text)
            if review.version and SemVer.parse(review.version) is None:
                raise invalid_field("review.version", "must be SemVer", "VERSION_INVALID")
            await uow.repo.lock_extension_row(review.extension_uuid)
            review = await uow.repo.update_review(review)
            await uow.repo.recompute_review_aggregates(review.extension_uuid)
            await uow.commit()
        await self.invalidate(ns_name, ext_name)
        return review

    async def delete_review(self, principal: Principal, name: str, etag: str) -> None:
        ns_name, ext_name, review_id = rn.review_name(name)
        user = self._user(principal)
        async with self._uow() as uow:
            review = await uow.repo.get_review(review_id)
            if (
                review is None
                or review.namespace.lower() != ns_name.lower()
                or review.extension.lower() != ext_name.lower()
            ):
                raise not_found("Review", name, "REVIEW_NOT_FOUND")
            if review.author_id != user and not await self._is_admin(principal):
                raise PermissionDenied("REVIEW_NOT_OWNED", "you can only delete your own review")
            if etag and etag != review_etag(review):
                raise_etag()
            await uow.repo.lock_extension_row(review.extension_uuid)
            await uow.repo.delete_review(review.id)
            await uow.repo.recompute_review_aggregates(review.extension_uuid)
            await uow.commit()
        await self.invalidate(ns_name, ext_name)

    # ================================================================ lifecycle

    async def _builds_for_change(
        self, uow: RegistryUnitOfWork, principal: Principal, name: str, platform: str
    ) -> tuple[m.Namespace, m.Extension, list[m.Version]]:
        ns_name, ext_name, version = rn.version_name(name, allow_alias=False)
        _check_platform(platform)
        ns = await self._require_owner(uow, principal, ns_name)
        ext = await uow.repo.get_extension(ns.name, ext_name, lock=True)
        if ext is None:
            raise not_found("Version", name, "VERSION_NOT_FOUND")
        builds = await uow.repo.find_versions(ext.id, version=version, visible_only=False)
        if platform:
            builds = [b for b in builds if b.target_platform == platform]
        if not builds:
            raise not_found("Version", name, "VERSION_NOT_FOUND")
        return ns, ext, builds

    async def set_yanked(
        self, principal: Principal, name: str, platform: str, yanked: bool, reason: str = ""
    ) -> m.Version:
        _check_text(reason, "reason", MAX_TEXT, "REASON_INVALID")
        async with self._uow() as uow:
            _, ext, builds = await self._builds_for_change(uow, principal, name, platform)
            await uow.repo.set_yanked([b.id for b in builds], yanked, reason)
            await uow.repo.refresh_extension(ext.id)
            await uow.commit()
        await self.invalidate(ext.namespace, ext.name)
        async with self._uow() as uow:
            version = await uow.repo.version_by_id(builds[0].id)
        assert version is not None
        return version

    async def unpublish(
        self, principal: Principal, name: str, platform: str, request_id: str = ""
    ) -> None:
        _check_request_id(request_id)
        shas: list[str] = []
        async with self._uow() as uow:
            if await self._idempotent(uow, "UnpublishVersion", principal, request_id):
                return
            _, ext, builds = await self._builds_for_change(uow, principal, name, platform)
            admin = await self._is_admin(principal)
            now = _now()
            for b in builds:
                if (
                    b.create_time
                    and now - b.create_time > self.config.unpublish_window
                    and not admin
                ):
                    raise FailedPrecondition(
                        "UNPUBLISH_WINDOW_EXPIRED",
                        f"versions can be unpublished within {self.config.unpublish_window} of "
                        "publication; yank it instead",
                    )
            dependents = await uow.repo.dependents_of(ext.ext_id, ext.id)
            if dependents:
                raise FailedPrecondition(
                    "VERSION_HAS_DEPENDENTS",
                    f"{', '.join(dependents)} depend on {ext.ext_id}",
                    metadata={"dependents": ",".join(dependents)},
                )
            shas = await uow.repo.set_unpublished([b.id for b in builds])
            await uow.repo.refresh_extension(ext.id)
            await self._remember(uow, "UnpublishVersion", principal, request_id, name)
            await uow.commit()
        for sha in set(shas):
            async with self._uow() as uow:
                referenced = await uow.repo.blob_referenced(sha)
            if not referenced:
                await self.blobs.delete(sha)
        await self.invalidate(ext.namespace, ext.name)

    async def deprecate(
        self,
        principal: Principal,
        name: str,
        replacement: str,
        message: str,
        deprecated: bool = True,
    ) -> m.Extension:
        ns_name, ext_name = rn.extension_name(name)
        if replacement:
            r_ns, r_ext = rn.extension_name(replacement, "replacement", "REPLACEMENT_INVALID")
        if len(message) > MAX_TEXT or _bad_text(message):
            raise invalid_field("message", "at most 2048 characters", "MESSAGE_TOO_LONG")
        async with self._uow() as uow:
            ns = await self._require_owner(uow, principal, ns_name)
            ext = await uow.repo.get_extension(ns.name, ext_name, lock=True)
            if ext is None:
                raise not_found("Extension", name, "EXTENSION_NOT_FOUND")
            replacement_id = None
            if deprecated and replacement:
                target = await uow.repo.get_extension(r_ns, r_ext)
                if target is None:
                    raise NotFound("REPLACEMENT_NOT_FOUND", f"extension '{r_ns}.{r_ext}' not found")
                if target.id == ext.id:
                    raise FailedPrecondition(
                        "REPLACEMENT_IS_SELF", "an extension cannot replace itself"
                    )
                replacement_id = target.id
            await uow.repo.set_deprecation(
                ext.id, deprecated, replacement_id, message if deprecated else ""
            )
            await uow.commit()
        await self.invalidate(ns.name, ext.name)
        return await self.get_extension(principal, f"namespaces/{ns.name}/extensions/{ext.name}")

    # ================================================================ internal

    async def delete_user_data(self, user: str, request_id: str = "") -> tuple[int, int, list[str]]:
        user_id = rn.user_name(user)
        _check_request_id(request_id)
        async with self._uow() as uow:
            extension_ids = await uow.repo.reviews_of_author(user_id)
            for ext_id in sorted(set(extension_ids)):
                await uow.repo.lock_extension_row(ext_id)
                await uow.repo.recompute_review_aggregates(ext_id)
            removed, frozen = await uow.repo.delete_user_memberships(user_id)
            await uow.repo.forget_user_on_records(user_id, "deleted-user")
            await uow.commit()
        if extension_ids:
            await self.cache.bump("search")
        return len(extension_ids), removed, [f"namespaces/{n}" for n in frozen]

    async def namespace_access(self, namespace: str, user: str) -> tuple[m.Namespace, m.Role, int]:
        ns_name = rn.namespace_name(namespace, "namespace", "NAMESPACE_INVALID")
        user_id = rn.user_name(user)
        async with self._uow() as uow:
            ns = await self._namespace(uow, ns_name)
            role, source = await self._role(uow, ns, user_id)
        return ns, role, source

    async def user_namespaces(self, user: str, size: int, token: str) -> m.Page:
        user_id = rn.user_name(user)
        limit = page_size(size)
        position = self._page(token, {"user": user_id})
        orgs = await self.auth.user_organizations(user_id)
        access: dict[str, tuple[m.Role, int]] = {}
        async with self._uow() as uow:
            for ns, role in await uow.repo.memberships_of(user_id):
                access[ns.name] = (role, 1)
            for ns in await uow.repo.namespaces_owned_by([f"users/{user_id}"]):
                if not ns.frozen:
                    access[ns.name] = (m.Role.OWNER, 1)
            org_roles = {f"organizations/{o}": r for o, r in orgs}
            for ns in await uow.repo.namespaces_owned_by(list(org_roles)):
                role = org_roles[ns.owner]
                current = access.get(ns.name)
                if current is None or (role == m.Role.OWNER and current[0] != m.Role.OWNER):
                    access[ns.name] = (role, 2)
        names = sorted(access, key=str.lower)
        after = (position or {}).get("after", "")
        names = [n for n in names if n.lower() > after.lower()] if after else names
        page = [(n, *access[n]) for n in names[:limit]]
        token_out = (
            self.pages.encode({"after": names[limit - 1]}, {"user": user_id})
            if len(names) > limit
            else ""
        )
        return m.Page(page, token_out)

    async def refresh_global_mean(self) -> None:
        async with self._uow() as uow:
            self.global_mean[0] = await uow.repo.load_global_mean()


# ---------------------------------------------------------------- small helpers


def _etag(*parts: object) -> str:
    return '"' + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16] + '"'


def namespace_etag(ns: m.Namespace) -> str:
    return _etag("ns", ns.id, ns.revision)


def member_etag(member: m.Member) -> str:
    return _etag("member", member.id, member.revision)


def scan_etag(scan: m.Scan) -> str:
    return _etag("scan", scan.id, scan.revision)


def review_etag(review: m.Review) -> str:
    return _etag("review", review.id, review.revision)


def extension_etag(ext: m.Extension) -> str:
    return _etag("ext", ext.id, ext.revision)


def raise_etag() -> None:
    from symphony_common.errors import Aborted

    raise Aborted("ETAG_MISMATCH", "the resource changed since you read it; read it again")


def _version_ref(info: PackageInfo, _: str) -> Any:
    from symphony_common.errors import ResourceRef

    return ResourceRef(
        "Version", f"namespaces/{info.namespace}/extensions/{info.name}/versions/{info.version}"
    )


def _compatible(build: m.Version, editor: SemVer, vscode: SemVer | None) -> bool:
    engines = dict(build.engines)
    if "symphony" in engines:
        rng = Range.parse(engines["symphony"])
        return rng is not None and rng.contains(editor)
    if "vscode" in engines:
        rng = Range.parse(engines["vscode"])
        return rng is not None and rng.contains(vscode or editor)
    return True


_ = (FieldViolation, InvalidArgument)
