"""All SQL of the registry (SQLAlchemy Core `text()` statements over one connection); no
driver error escapes: `translate_db_errors` turns them into domain errors."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from symphony_common.db.unit_of_work import translate_db_errors
from symphony_common.errors import AlreadyExists, ResourceRef
from symphony_registry.domain import models as m

_NS_COLUMNS = """n.id, n.name, n.display_name, n.description, n.website_url, n.support_url, n.owner,
 n.verified, n.verify_time, n.frozen, n.create_time, n.update_time, n.revision, (SELECT count(*)
 FROM registry.extensions e WHERE e.namespace_id = n.id AND e.has_visible) AS extension_count"""

_EXT_COLUMNS = """e.id, n.name AS namespace, e.name, n.verified, e.display_name, e.description,
 e.categories, e.tags, e.target_platforms, e.deprecated, e.deprecation_message, e.deprecate_time,
 (SELECT rn.name || '/' || r.name FROM registry.extensions r JOIN registry.namespaces rn ON rn.id =
 r.namespace_id WHERE r.id = e.deprecation_replacement) AS replacement, e.download_count,
 e.review_count, e.rating_sum, e.rating_counts, e.create_time, e.update_time, e.revision,
 e.has_visible, e.namespace_id"""

_VERSION_COLUMNS = """v.id, v.extension_id, n.name AS namespace, e.name AS extension, v.version,
 v.target_platform, v.pre_release, v.display_name, v.description, v.categories, v.tags, v.license,
 v.homepage_url, v.repository_url, v.bugs_url, v.engines, v.dependencies, v.bundled_extensions,
 v.files, v.package_size, v.package_sha256, v.signature_key, v.signature, v.signed_manifest,
 v.scan_state, v.publisher_id, v.yanked, v.yank_reason, v.yank_time, v.unpublished,
 v.download_count, v.create_time, v.update_time, (SELECT s.id FROM registry.scans s WHERE
 s.version_id = v.id ORDER BY s.create_time DESC LIMIT 1) AS scan_id, ARRAY(SELECT o.target_platform
 FROM registry.versions o WHERE o.extension_id = v.extension_id AND o.version = v.version AND
 o.scan_state = 4 AND NOT o.unpublished ORDER BY o.target_platform) AS platforms"""

_VERSION_FROM = """registry.versions v JOIN registry.extensions e ON e.id = v.extension_id
 JOIN registry.namespaces n ON n.id = e.namespace_id"""

# What search reads, derived from an extension row `e` and its namespace `n` (the benchmark's
# bulk load applies the same assignments).
SEARCH_COLUMNS = """search_text = lower(n.name || '.' || e.name || ' ' || e.display_name),
 search_tsv = setweight(to_tsvector('simple', e.name || ' ' || e.display_name), 'A')
   || setweight(to_tsvector('simple', array_to_string(e.tags, ' ')), 'B')
   || setweight(to_tsvector('simple', n.name), 'C')
   || setweight(to_tsvector('simple', e.description), 'D')"""

VISIBLE = "v.scan_state = 4 AND NOT v.unpublished"


def _ns(row: Any) -> m.Namespace:
    return m.Namespace(
        id=str(row.id),
        name=row.name,
        display_name=row.display_name,
        description=row.description,
        website_url=row.website_url,
        support_url=row.support_url,
        owner=row.owner,
        verified=row.verified,
        verify_time=row.verify_time,
        frozen=row.frozen,
        extension_count=row.extension_count,
        create_time=row.create_time,
        update_time=row.update_time,
        revision=row.revision,
    )


def _member(row: Any, namespace: str) -> m.Member:
    return m.Member(
        str(row.id),
        namespace,
        row.user_id,
        m.Role(row.role),
        row.create_time,
        row.update_time,
        row.revision,
    )


def _ext(row: Any, global_mean: float, prior: float) -> m.Extension:
    count = row.review_count
    summary = m.ReviewSummary(
        review_count=count,
        average_rating=(row.rating_sum / count) if count else 0.0,
        bayesian_rating=(prior * global_mean + row.rating_sum) / (prior + count) if count else 0.0,
        rating_counts=list(row.rating_counts),
    )
    deprecation = None
    if row.deprecated:
        replacement = row.replacement or ""
        deprecation = m.Deprecation(
            replacement=(
                f"namespaces/{replacement.split('/')[0]}/extensions/{replacement.split('/')[1]}"
                if replacement
                else ""
            ),
            replacement_id=replacement.replace("/", "."),
            message=row.deprecation_message,
            deprecate_time=row.deprecate_time,
        )
    return m.Extension(
        id=str(row.id),
        namespace=row.namespace,
        name=row.name,
        verified=row.verified,
        display_name=row.display_name,
        description=row.description,
        categories=list(row.categories),
        tags=list(row.tags),
        target_platforms=list(row.target_platforms),
        deprecation=deprecation,
        download_count=row.download_count,
        review_summary=summary,
        create_time=row.create_time,
        update_time=row.update_time,
        revision=row.revision,
    )


def _version(row: Any) -> m.Version:
    signature = None
    if row.signature is not None:
        signature = m.Signature(
            str(row.signature_key), bytes(row.signature), bytes(row.signed_manifest)
        )
    return m.Version(
        id=str(row.id),
        extension_id=str(row.extension_id),
        namespace=row.namespace,
        extension=row.extension,
        version=row.version,
        target_platform=row.target_platform,
        pre_release=row.pre_release,
        display_name=row.display_name,
        description=row.description,
        categories=list(row.categories),
        tags=list(row.tags),
        license=row.license,
        homepage_url=row.homepage_url,
        repository_url=row.repository_url,
        bugs_url=row.bugs_url,
        engines=[(e[0], e[1]) for e in row.engines],
        dependencies=list(row.dependencies),
        bundled_extensions=list(row.bundled_extensions),
        files={k: m.FileRef(**v) for k, v in row.files.items()},
        package_size=row.package_size,
        package_sha256=row.package_sha256,
        signature=signature,
        scan_id=str(row.scan_id or ""),
        scan_state=m.ScanState(row.scan_state),
        publisher_id=row.publisher_id,
        yanked=row.yanked,
        yank_reason=row.yank_reason,
        yank_time=row.yank_time,
        unpublished=row.unpublished,
        download_count=row.download_count,
        create_time=row.create_time,
        update_time=row.update_time,
        available_target_platforms=list(row.platforms),
    )


def _scan(row: Any) -> m.Scan:
    decision = None
    if row.decision:
        d = row.decision
        decision = m.Decision(
            d["allowed"],
            d["administrator"],
            d["reason"],
            dt.datetime.fromisoformat(d["decide_time"]),
        )
    return m.Scan(
        id=str(row.id),
        version_id=str(row.version_id),
        namespace=row.namespace,
        extension=row.extension,
        version=row.version,
        target_platform=row.target_platform,
        publisher_id=row.publisher_id,
        package_sha256=row.package_sha256,
        state=m.ScanState(row.state),
        checks=[m.from_jsonable(m.CheckRun, c) for c in row.checks],
        findings=[m.from_jsonable(m.Finding, f) for f in row.findings],
        decision=decision,
        create_time=row.create_time,
        update_time=row.update_time,
        complete_time=row.complete_time,
        revision=row.revision,
    )


def _review(row: Any) -> m.Review:
    return m.Review(
        id=str(row.id),
        extension_uuid=str(row.extension_id),
        namespace=row.namespace,
        extension=row.extension,
        author_id=row.author_id,
        author_display_name=row.author_display_name,
        rating=row.rating,
        title=row.title,
        text=row.text,
        version=row.version,
        create_time=row.create_time,
        update_time=row.update_time,
        revision=row.revision,
    )


class SqlRegistryRepository:
    def __init__(self, conn: AsyncConnection, *, rating_prior: float = 5.0) -> None:
        self.conn = conn
        self.rating_prior = rating_prior
        self.global_mean = 3.5

    async def _exec(
        self,
        sql: str,
        params: dict[str, Any] | None = None,
        *,
        on_unique: AlreadyExists | None = None,
    ) -> Any:
        with translate_db_errors(on_unique=on_unique):
            return await self.conn.execute(text(sql), params or {})

    # ------------------------------------------------------------ namespaces

    async def get_namespace(self, name: str, *, lock: bool = False) -> m.Namespace | None:
        sql = f"SELECT {_NS_COLUMNS} FROM registry.namespaces n WHERE lower(n.name) = lower(:name)"  # noqa: S608 - fixed column list; values bound
        row = (await self._exec(sql + (" FOR UPDATE" if lock else ""), {"name": name})).first()
        return _ns(row) if row else None

    async def namespace_by_skeleton(self, skeleton: str) -> str | None:
        row = (
            await self._exec(
                "SELECT name FROM registry.namespaces WHERE skeleton = :s", {"s": skeleton}
            )
        ).first()
        return row.name if row else None

    async def similar_verified_namespaces(self, skeleton: str) -> list[str]:
        rows = await self._exec(
            "SELECT name FROM registry.namespaces"
            " WHERE verified AND public.similarity(skeleton, :s) > 0.3 LIMIT 50",
            {"s": skeleton},
        )
        return [r.name for r in rows]

    async def insert_namespace(self, ns: m.Namespace, skeleton: str) -> None:
        await self._exec(
            """INSERT INTO registry.namespaces (id, name, skeleton, display_name, description,
               website_url, support_url, owner) VALUES (:id, :name, :skeleton, :dn, :desc, :web,
               :sup, :owner)""",
            {
                "id": ns.id,
                "name": ns.name,
                "skeleton": skeleton,
                "dn": ns.display_name,
                "desc": ns.description,
                "web": ns.website_url,
                "sup": ns.support_url,
                "owner": ns.owner,
            },
            on_unique=AlreadyExists(
                "NAMESPACE_EXISTS",
                f"namespace '{ns.name}' already exists",
                resource=ResourceRef("Namespace", f"namespaces/{ns.name}"),
            ),
        )

    async def update_namespace(self, ns: m.Namespace) -> None:
        await self._exec(
            """UPDATE registry.namespaces SET display_name = :dn, description = :desc, website_url =
               :web, support_url = :sup, verified = :verified, verify_time = :vt, frozen = :frozen,
               owner = :owner, update_time = now(), revision = revision + 1 WHERE id = :id""",
            {
                "id": ns.id,
                "dn": ns.display_name,
                "desc": ns.description,
                "web": ns.website_url,
                "sup": ns.support_url,
                "verified": ns.verified,
                "vt": ns.verify_time,
                "frozen": ns.frozen,
                "owner": ns.owner,
            },
        )

    async def list_namespaces(
        self, *, member: str, owners: Sequence[str], verified_only: bool, after: str, limit: int
    ) -> list[m.Namespace]:
        where = ["lower(n.name) > lower(:after)"]
        params: dict[str, Any] = {"after": after, "limit": limit}
        if member:
            where.append(
                "(EXISTS (SELECT 1 FROM registry.namespace_members mm WHERE mm.namespace_id = n.id "
                "AND mm.user_id = :member)"
                " OR n.owner = ANY(:member_owners))"
            )
            params["member"] = member
            params["member_owners"] = list(owners) if owners else []
        elif owners:
            where.append("n.owner = ANY(:owners)")
            params["owners"] = list(owners)
        if verified_only:
            where.append("n.verified")
        sql = (
            f"SELECT {_NS_COLUMNS} FROM registry.namespaces n WHERE {' AND '.join(where)}"  # noqa: S608 - WHERE joins fixed clauses; values bound
            " ORDER BY lower(n.name) LIMIT :limit"
        )
        return [_ns(r) for r in await self._exec(sql, params)]

    async def get_member(
        self, namespace: m.Namespace, user_id: str, *, lock: bool = False
    ) -> m.Member | None:
        row = (
            await self._exec(
                "SELECT * FROM registry.namespace_members WHERE namespace_id = :ns AND user_id = :u"  # noqa: S608 - fixed FOR UPDATE suffix; values bound
                + (" FOR UPDATE" if lock else ""),
                {"ns": namespace.id, "u": user_id},
            )
        ).first()
        return _member(row, namespace.name) if row else None

    async def insert_member(self, namespace: m.Namespace, user_id: str, role: m.Role) -> m.Member:
        row = (
            await self._exec(
                """INSERT INTO registry.namespace_members (id, namespace_id, user_id, role) VALUES
                 (:id, :ns, :u, :r) RETURNING *""",
                {"id": str(uuid.uuid4()), "ns": namespace.id, "u": user_id, "r": int(role)},
                on_unique=AlreadyExists(
                    "MEMBER_EXISTS",
                    "the user is already a member",
                    resource=ResourceRef(
                        "NamespaceMember", f"namespaces/{namespace.name}/members/{user_id}"
                    ),
                ),
            )
        ).one()
        return _member(row, namespace.name)

    async def update_member_role(self, member: m.Member, role: m.Role) -> m.Member:
        row = (
            await self._exec(
                """UPDATE registry.namespace_members SET role = :r, update_time = now(), revision =
                 revision + 1 WHERE id = :id RETURNING *""",
                {"id": member.id, "r": int(role)},
            )
        ).one()
        return _member(row, member.namespace)

    async def delete_member(self, member: m.Member) -> None:
        await self._exec("DELETE FROM registry.namespace_members WHERE id = :id", {"id": member.id})

    async def count_owners(self, namespace: m.Namespace) -> int:
        return int(
            (
                await self._exec(
                    "SELECT count(*) FROM registry.namespace_members WHERE namespace_id = :ns AND "
                    "role = 1",
                    {"ns": namespace.id},
                )
            ).scalar_one()
        )

    async def list_members(
        self, namespace: m.Namespace, after: tuple[int, str] | None, limit: int
    ) -> list[m.Member]:
        params: dict[str, Any] = {
            "ns": namespace.id,
            "limit": limit,
            "role": after[0] if after else 0,
            "u": after[1] if after else "",
        }
        rows = await self._exec(
            """SELECT * FROM registry.namespace_members WHERE namespace_id = :ns AND (role, user_id)
               > (:role, :u) ORDER BY role, user_id LIMIT :limit""",
            params,
        )
        return [_member(r, namespace.name) for r in rows]

    async def memberships_of(self, user_id: str) -> list[tuple[m.Namespace, m.Role]]:
        rows = await self._exec(
            f"""SELECT {_NS_COLUMNS}, mm.role FROM registry.namespace_members mm
                JOIN registry.namespaces n ON n.id = mm.namespace_id WHERE mm.user_id = :u""",  # noqa: S608 - fixed column list; values bound
            {"u": user_id},
        )
        return [(_ns(r), m.Role(r.role)) for r in rows]

    async def namespaces_owned_by(self, owners: Sequence[str]) -> list[m.Namespace]:
        if not owners:
            return []
        rows = await self._exec(
            f"SELECT {_NS_COLUMNS} FROM registry.namespaces n WHERE n.owner = ANY(:o)",  # noqa: S608 - fixed column list; values bound
            {"o": list(owners)},
        )
        return [_ns(r) for r in rows]

    async def delete_user_memberships(self, user_id: str) -> tuple[int, list[str]]:
        rows = (
            await self._exec(
                "DELETE FROM registry.namespace_members WHERE user_id = :u RETURNING namespace_id",
                {"u": user_id},
            )
        ).all()
        frozen = await self._exec(
            """UPDATE registry.namespaces n SET frozen = true, update_time = now(), revision =
               revision + 1 WHERE n.owner = :owner AND NOT EXISTS (SELECT 1 FROM
               registry.namespace_members mm WHERE mm.namespace_id = n.id AND mm.role = 1) RETURNING
               n.name""",
            {"owner": f"users/{user_id}"},
        )
        names = [r.name for r in frozen]
        # Namespaces the user co-owned that now have no owner at all are frozen too.
        more = await self._exec(
            """UPDATE registry.namespaces n SET frozen = true, update_time = now(), revision =
               revision + 1 WHERE n.id = ANY(:ids) AND n.owner LIKE 'users/%' AND NOT n.frozen AND
               NOT EXISTS ( SELECT 1 FROM registry.namespace_members mm WHERE mm.namespace_id = n.id
               AND mm.role = 1) RETURNING n.name""",
            {"ids": [r.namespace_id for r in rows]},
        )
        names += [r.name for r in more]
        return len(rows), sorted(set(names))

    # ------------------------------------------------------------ extensions

    async def get_extension(
        self, namespace: str, name: str, *, lock: bool = False
    ) -> m.Extension | None:
        sql = f"""SELECT {_EXT_COLUMNS} FROM registry.extensions e JOIN registry.namespaces n ON
                  n.id = e.namespace_id WHERE lower(n.name) = lower(:ns) AND lower(e.name) =
                  lower(:name)"""  # noqa: S608 - fixed column list; values bound
        if lock:
            sql += " FOR UPDATE OF e"
        row = (await self._exec(sql, {"ns": namespace, "name": name})).first()
        if not row:
            return None
        ext = _ext(row, self.global_mean, self.rating_prior)
        ext.__dict__["has_visible"] = row.has_visible
        return ext

    async def extensions_by_ids(self, ids: Sequence[str]) -> dict[str, m.Extension]:
        rows = await self._exec(
            f"""SELECT {_EXT_COLUMNS} FROM registry.extensions e JOIN registry.namespaces n ON n.id
                = e.namespace_id WHERE e.id = ANY(CAST(:ids AS uuid[]))""",  # noqa: S608 - fixed column list; values bound
            {"ids": list(ids)},
        )
        return {str(r.id): _ext(r, self.global_mean, self.rating_prior) for r in rows}

    async def extension_by_skeleton(self, namespace_id: str, skeleton: str) -> str | None:
        row = (
            await self._exec(
                "SELECT name FROM registry.extensions WHERE namespace_id = :ns AND skeleton = :s",
                {"ns": namespace_id, "s": skeleton},
            )
        ).first()
        return row.name if row else None

    async def insert_extension(self, namespace: m.Namespace, name: str, skeleton: str) -> str:
        ext_id = str(uuid.uuid4())
        await self._exec(
            "INSERT INTO registry.extensions (id, namespace_id, name, skeleton)"
            " VALUES (:id, :ns, :name, :s)",
            {"id": ext_id, "ns": namespace.id, "name": name, "s": skeleton},
            on_unique=AlreadyExists(
                "CONCURRENT_MODIFICATION", "the extension was created concurrently; retry"
            ),
        )
        return ext_id

    async def list_extensions(
        self, namespace_id: str, *, include_hidden: bool, after: str, limit: int
    ) -> list[m.Extension]:
        rows = await self._exec(
            f"""SELECT {_EXT_COLUMNS} FROM registry.extensions e JOIN registry.namespaces n ON n.id
                = e.namespace_id WHERE e.namespace_id = :ns AND (e.has_visible OR :hidden) AND
                lower(e.name) > lower(:after) ORDER BY lower(e.name) LIMIT :limit""",  # noqa: S608 - fixed column list; values bound
            {"ns": namespace_id, "hidden": include_hidden, "after": after, "limit": limit},
        )
        return [_ext(r, self.global_mean, self.rating_prior) for r in rows]

    async def refresh_extension(self, extension_id: str) -> None:
        """Recompute what search and listings read from the newest visible build."""
        await self._exec(
            """WITH vis AS ( SELECT v.* FROM registry.versions v WHERE v.extension_id = :id AND
                 v.scan_state = 4 AND NOT v.unpublished ), best AS ( SELECT * FROM vis WHERE NOT
                 yanked ORDER BY pre_release, semver_key DESC, (target_platform = 'universal') DESC
                 LIMIT 1 ) UPDATE registry.extensions e SET has_visible = EXISTS (SELECT 1 FROM
                 vis), has_stable = EXISTS (SELECT 1 FROM vis WHERE NOT pre_release AND NOT yanked),
                 display_name = COALESCE((SELECT display_name FROM best), e.display_name),
                 description = COALESCE((SELECT description FROM best), e.description), categories =
                 COALESCE((SELECT categories FROM best), e.categories), tags = COALESCE((SELECT tags
                 FROM best), e.tags), target_platforms = ARRAY(SELECT DISTINCT target_platform FROM
                 vis ORDER BY 1), publish_time = (SELECT max(create_time) FROM vis), update_time =
                 now(), revision = e.revision + 1 WHERE e.id = :id""",
            {"id": extension_id},
        )
        await self._exec(
            f"UPDATE registry.extensions e SET {SEARCH_COLUMNS} FROM registry.namespaces n"  # noqa: S608 - fixed assignments; values bound
            " WHERE n.id = e.namespace_id AND e.id = :id",
            {"id": extension_id},
        )

    async def set_deprecation(
        self, extension_id: str, deprecated: bool, replacement_id: str | None, message: str
    ) -> None:
        await self._exec(
            """UPDATE registry.extensions SET deprecated = :d, deprecation_replacement = :r,
               deprecation_message = :msg, deprecate_time = CASE WHEN :d THEN now() ELSE NULL END,
               update_time = now(), revision = revision + 1 WHERE id = :id""",
            {"id": extension_id, "d": deprecated, "r": replacement_id, "msg": message},
        )

    async def candidate_similar_extensions(self, name: str, limit: int = 50) -> list[str]:
        rows = await self._exec(
            """SELECT n.name || '.' || e.name AS ext_id FROM registry.extensions e
               JOIN registry.namespaces n ON n.id = e.namespace_id
               WHERE e.has_visible AND public.similarity(lower(e.name), lower(:name)) > 0.35
               ORDER BY public.similarity(lower(e.name), lower(:name)) DESC LIMIT :limit""",
            {"name": name, "limit": limit},
        )
        return [r.ext_id for r in rows]

    async def dependents_of(self, ext_id: str, exclude_extension: str) -> list[str]:
        rows = await self._exec(
            f"""SELECT DISTINCT n.name || '.' || e.name AS ext_id FROM {_VERSION_FROM} WHERE
                v.dependencies @> ARRAY[lower(:ext)] AND {VISIBLE} AND e.id <> :self LIMIT 10""",  # noqa: S608 - fixed column list; values bound
            {"ext": ext_id, "self": exclude_extension},
        )
        return [r.ext_id for r in rows]

    # ------------------------------------------------------------ versions

    async def find_versions(
        self,
        extension_id: str,
        *,
        version: str | None = None,
        platform: str | None = None,
        visible_only: bool = True,
        include_yanked: bool = True,
        alias: str = "",
        offset: int = 0,
        limit: int = 1000,
    ) -> list[m.Version]:
        where = ["v.extension_id = :ext"]
        params: dict[str, Any] = {"ext": extension_id, "offset": offset, "limit": limit}
        if visible_only:
            where.append(VISIBLE)
        else:
            where.append("NOT v.unpublished")
        if version is not None:
            where.append("v.version = :version")
            params["version"] = version
        if platform:
            where.append("v.target_platform = ANY(:platforms)")
            params["platforms"] = [platform] if alias == "" else [platform, "universal"]
        if not include_yanked:
            where.append("NOT v.yanked")
        if alias == "latest":
            where.append("NOT v.pre_release")
        elif alias == "pre-release":
            where.append("v.pre_release")
        order = "v.semver_key DESC, (v.target_platform = :pref) DESC, v.target_platform"
        params["pref"] = platform or "universal"
        sql = (
            f"SELECT {_VERSION_COLUMNS} FROM {_VERSION_FROM} WHERE {' AND '.join(where)}"  # noqa: S608 - WHERE joins fixed clauses; values bound
            f" ORDER BY {order} OFFSET :offset LIMIT :limit"
        )
        return [_version(r) for r in await self._exec(sql, params)]

    async def newest_builds(
        self, extension_ids: Sequence[str], platform: str | None
    ) -> dict[str, tuple[m.Version | None, m.Version | None]]:
        """(newest stable, newest pre-release) visible, unyanked build of each extension for
        `platform` (or universal): `find_versions(alias=..., limit=1)` for many extensions in one
        statement, so a page of results costs one round trip, not two per extension."""
        if not extension_ids:
            return {}
        platforms = "AND o.target_platform = ANY(:platforms)" if platform else ""
        rows = await self._exec(
            f"""SELECT {_VERSION_COLUMNS} FROM unnest(CAST(:ids AS uuid[])) AS x (id)
                CROSS JOIN (VALUES (false), (true)) AS k (pre) CROSS JOIN LATERAL (SELECT o.id
                FROM registry.versions o WHERE o.extension_id = x.id AND o.scan_state = 4 AND NOT
                o.unpublished AND NOT o.yanked AND o.pre_release = k.pre {platforms} ORDER BY
                o.semver_key DESC, (o.target_platform = :pref) DESC, o.target_platform LIMIT 1) b
                JOIN {_VERSION_FROM} ON v.id = b.id""",  # noqa: S608 - fixed column list and clauses; values bound
            {
                "ids": list(extension_ids),
                "platforms": [platform, "universal"],
                "pref": platform or "universal",
            },
        )
        builds: dict[str, tuple[m.Version | None, m.Version | None]] = {}
        for row in rows:
            version = _version(row)
            stable, pre = builds.get(version.extension_id, (None, None))
            builds[version.extension_id] = (
                (stable, version) if version.pre_release else (version, pre)
            )
        return builds

    async def version_tombstones(
        self, extension_id: str, version: str, platform: str
    ) -> list[tuple[str, bool, int]]:
        """(id, unpublished, scan_state) of existing rows for (version, platform)."""
        rows = await self._exec(
            """SELECT id, unpublished, scan_state FROM registry.versions WHERE extension_id = :e
               AND version = :v AND target_platform = :p FOR UPDATE""",
            {"e": extension_id, "v": version, "p": platform},
        )
        return [(str(r.id), r.unpublished, r.scan_state) for r in rows]

    async def any_version_string(self, extension_id: str, version: str) -> bool:
        row = (
            await self._exec(
                "SELECT 1 FROM registry.versions WHERE extension_id = :e AND version = :v AND "
                "unpublished LIMIT 1",
                {"e": extension_id, "v": version},
            )
        ).first()
        return row is not None

    async def delete_version(self, version_id: str) -> None:
        await self._exec("DELETE FROM registry.versions WHERE id = :id", {"id": version_id})

    async def insert_version(
        self,
        v: m.Version,
        semver_key: str,
        entries: list[dict[str, Any]],
        files: dict[str, tuple[str, str, bytes, str]],
    ) -> None:
        await self._exec(
            """INSERT INTO registry.versions (id, extension_id, version, semver_key,
                 target_platform, pre_release, display_name, description, categories, tags, license,
                 homepage_url, repository_url, bugs_url, engines, dependencies, bundled_extensions,
                 files, entries, package_size, package_sha256, signature_key, signature,
                 signed_manifest, scan_state, publisher_id) VALUES (:id, :ext, :version, :key,
                 :platform, :pre, :dn, :desc, :cats, :tags, :license, :home, :repo, :bugs,
                 CAST(:engines AS jsonb), :deps, :bundled, CAST(:files AS jsonb), CAST(:entries AS
                 jsonb), :size, :sha, :sigkey, :sig, :manifest, :state, :publisher)""",
            {
                "id": v.id,
                "ext": v.extension_id,
                "version": v.version,
                "key": semver_key,
                "platform": v.target_platform,
                "pre": v.pre_release,
                "dn": v.display_name,
                "desc": v.description,
                "cats": v.categories,
                "tags": v.tags,
                "license": v.license,
                "home": v.homepage_url,
                "repo": v.repository_url,
                "bugs": v.bugs_url,
                "engines": json.dumps(v.engines),
                "deps": v.dependencies,
                "bundled": v.bundled_extensions,
                "files": json.dumps({k: m.to_jsonable(f) for k, f in v.files.items()}),
                "entries": json.dumps(entries),
                "size": v.package_size,
                "sha": v.package_sha256,
                "sigkey": v.signature.key_id if v.signature else None,
                "sig": v.signature.signature if v.signature else None,
                "manifest": v.signature.manifest if v.signature else None,
                "state": int(v.scan_state),
                "publisher": v.publisher_id,
            },
            on_unique=AlreadyExists(
                "VERSION_EXISTS",
                f"version {v.version} ({v.target_platform}) already exists",
                resource=ResourceRef(
                    "Version",
                    f"namespaces/{v.namespace}/extensions/{v.extension}/versions/{v.version}",
                ),
            ),
        )
        for kind, (path, ctype, content, sha) in files.items():
            await self._exec(
                """INSERT INTO registry.version_files (version_id, kind, path, content_type, size,
                   sha256, content) VALUES (:v, :k, :p, :c, :s, :sha, :data)""",
                {
                    "v": v.id,
                    "k": kind,
                    "p": path,
                    "c": ctype,
                    "s": len(content),
                    "sha": sha,
                    "data": content,
                },
            )

    async def version_entries(self, version_id: str) -> list[dict[str, Any]]:
        row = (
            await self._exec(
                "SELECT entries FROM registry.versions WHERE id = :id", {"id": version_id}
            )
        ).first()
        return list(row.entries) if row else []

    async def version_file(
        self, version_id: str, kind: str
    ) -> tuple[str, str, int, str, bytes] | None:
        row = (
            await self._exec(
                "SELECT * FROM registry.version_files WHERE version_id = :v AND kind = :k",
                {"v": version_id, "k": kind},
            )
        ).first()
        return (
            (row.path, row.content_type, row.size, row.sha256, bytes(row.content)) if row else None
        )

    async def set_yanked(self, version_ids: Sequence[str], yanked: bool, reason: str) -> None:
        await self._exec(
            """UPDATE registry.versions SET yanked = :y, yank_reason = :r, yank_time = CASE WHEN :y
               THEN now() ELSE NULL END, update_time = now() WHERE id = ANY(CAST(:ids AS uuid[]))
               AND yanked <> :y""",
            {"ids": list(version_ids), "y": yanked, "r": reason if yanked else ""},
        )

    async def set_unpublished(self, version_ids: Sequence[str]) -> list[str]:
        rows = await self._exec(
            """UPDATE registry.versions SET unpublished = true, unpublish_time = now(), update_time
               = now() WHERE id = ANY(CAST(:ids AS uuid[])) RETURNING package_sha256""",
            {"ids": list(version_ids)},
        )
        shas = [r.package_sha256 for r in rows]
        await self._exec(
            "DELETE FROM registry.version_files WHERE version_id = ANY(CAST(:ids AS uuid[]))",
            {"ids": list(version_ids)},
        )
        return shas

    async def blob_referenced(self, sha256: str) -> bool:
        row = (
            await self._exec(
                "SELECT 1 FROM registry.versions WHERE package_sha256 = :s AND NOT unpublished "
                "LIMIT 1",
                {"s": sha256},
            )
        ).first()
        return row is not None

    async def set_version_state(self, version_id: str, state: m.ScanState) -> None:
        await self._exec(
            "UPDATE registry.versions SET scan_state = :s, update_time = now() WHERE id = :id",
            {"id": version_id, "s": int(state)},
        )

    async def count_download(self, v: m.Version, day: dt.date) -> None:
        await self._exec(
            "UPDATE registry.versions SET download_count = download_count + 1 WHERE id = :id",
            {"id": v.id},
        )
        await self._exec(
            "UPDATE registry.extensions SET download_count = download_count + 1 WHERE id = :id",
            {"id": v.extension_id},
        )
        await self._exec(
            """INSERT INTO registry.download_outbox (version_id, namespace, extension, version,
               target_platform, day, downloads) VALUES (:id, :ns, :ext, :ver, :tp, :day, 1) ON
               CONFLICT (version_id, day) WHERE NOT sealed DO UPDATE SET downloads =
               registry.download_outbox.downloads + 1""",
            {
                "id": v.id,
                "ns": v.namespace,
                "ext": v.extension,
                "ver": v.version,
                "tp": v.target_platform,
                "day": day,
            },
        )

    # ------------------------------------------------------------ scans

    async def insert_scan(self, scan: m.Scan) -> None:
        await self._exec(
            """INSERT INTO registry.scans (id, version_id, namespace, extension, version,
                 target_platform, publisher_id, package_sha256, state, checks, findings) VALUES
                 (:id, :v, :ns, :ext, :ver, :tp, :pub, :sha, :state, CAST(:checks AS jsonb),
                 CAST(:findings AS jsonb))""",
            {
                "id": scan.id,
                "v": scan.version_id,
                "ns": scan.namespace,
                "ext": scan.extension,
                "ver": scan.version,
                "tp": scan.target_platform,
                "pub": scan.publisher_id,
                "sha": scan.package_sha256,
                "state": int(scan.state),
                "checks": json.dumps(m.to_jsonable(scan.checks)),
                "findings": json.dumps(m.to_jsonable(scan.findings)),
            },
        )
        await self._exec("INSERT INTO registry.scan_jobs (scan_id) VALUES (:id)", {"id": scan.id})

    async def get_scan(self, scan_id: str, *, lock: bool = False) -> m.Scan | None:
        try:
            uuid.UUID(scan_id)
        except ValueError:
            return None
        row = (
            await self._exec(
                "SELECT * FROM registry.scans WHERE id = :id" + (" FOR UPDATE" if lock else ""),  # noqa: S608 - fixed FOR UPDATE suffix; values bound
                {"id": scan_id},
            )
        ).first()
        return _scan(row) if row else None

    async def update_scan(self, scan: m.Scan) -> None:
        await self._exec(
            """UPDATE registry.scans SET state = :state, checks = CAST(:checks AS jsonb), findings =
               CAST(:findings AS jsonb), decision = CAST(:decision AS jsonb), update_time = now(),
               complete_time = CASE WHEN :final THEN now() ELSE NULL END, revision = revision + 1
               WHERE id = :id""",
            {
                "id": scan.id,
                "state": int(scan.state),
                "checks": json.dumps(m.to_jsonable(scan.checks)),
                "findings": json.dumps(m.to_jsonable(scan.findings)),
                "decision": json.dumps(m.to_jsonable(scan.decision)) if scan.decision else None,
                "final": scan.state.final,
            },
        )

    async def list_scans(
        self,
        *,
        namespace: str,
        extension: str,
        state: int,
        before: tuple[str, str] | None,
        limit: int,
    ) -> list[m.Scan]:
        where = ["true"]
        params: dict[str, Any] = {"limit": limit}
        if namespace:
            where.append("lower(namespace) = lower(:ns)")
            params["ns"] = namespace
        if extension:
            where.append("lower(extension) = lower(:ext)")
            params["ext"] = extension
        if state:
            where.append("state = :state")
            params["state"] = state
        if before:
            where.append("(create_time, id) < (CAST(:bt AS timestamptz), CAST(:bid AS uuid))")
            params["bt"], params["bid"] = before
        rows = await self._exec(
            f"SELECT * FROM registry.scans WHERE {' AND '.join(where)} ORDER BY create_time DESC, "  # noqa: S608 - WHERE joins fixed clauses; values bound
            "id DESC LIMIT :limit",
            params,
        )
        return [_scan(r) for r in rows]

    async def claim_job(self, lease_seconds: float) -> tuple[int, str, int] | None:
        row = (
            await self._exec(
                """UPDATE registry.scan_jobs SET lease_until = now() + make_interval(secs =>
                 :lease), attempts = attempts + 1 WHERE id = (SELECT id FROM registry.scan_jobs
                 WHERE run_after <= now() AND (lease_until IS NULL OR lease_until < now()) ORDER BY
                 run_after, id FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id, scan_id, attempts""",
                {"lease": lease_seconds},
            )
        ).first()
        return (row.id, str(row.scan_id), row.attempts) if row else None

    async def retry_job(self, job_id: int, delay: float, error: str) -> None:
        await self._exec(
            """UPDATE registry.scan_jobs SET lease_until = NULL, run_after = now() +
               make_interval(secs => :d), last_error = :e WHERE id = :id""",
            {"id": job_id, "d": delay, "e": error[:500]},
        )

    async def delete_job(self, scan_id: str) -> None:
        await self._exec("DELETE FROM registry.scan_jobs WHERE scan_id = :id", {"id": scan_id})

    async def version_by_id(self, version_id: str) -> m.Version | None:
        row = (
            await self._exec(
                f"SELECT {_VERSION_COLUMNS} FROM {_VERSION_FROM} WHERE v.id = :id",  # noqa: S608 - fixed column list; values bound
                {"id": version_id},
            )
        ).first()
        return _version(row) if row else None

    async def first_version(self, extension_id: str, version_id: str) -> bool:
        row = (
            await self._exec(
                "SELECT 1 FROM registry.versions WHERE extension_id = :e AND id <> :v AND "
                "scan_state = 4 LIMIT 1",
                {"e": extension_id, "v": version_id},
            )
        ).first()
        return row is None

    # ------------------------------------------------------------ blocklist

    async def blocklist_lookup(self, shas: Sequence[str]) -> dict[str, str]:
        rows = await self._exec(
            "SELECT sha256, reason FROM registry.blocklist WHERE sha256 = ANY(:s)",
            {"s": list(shas)},
        )
        return {r.sha256: r.reason for r in rows}

    async def insert_blocklist(self, entry: m.BlocklistEntry) -> m.BlocklistEntry:
        row = (
            await self._exec(
                "INSERT INTO registry.blocklist (id, sha256, reason, creator)"
                " VALUES (:id, :sha, :r, :c) RETURNING create_time",
                {"id": entry.id, "sha": entry.sha256, "r": entry.reason, "c": entry.creator},
                on_unique=AlreadyExists(
                    "BLOCKLIST_ENTRY_EXISTS",
                    "the SHA-256 is already blocked",
                    resource=ResourceRef("BlocklistEntry", f"publishing/blocklist/{entry.sha256}"),
                ),
            )
        ).one()
        entry.create_time = row.create_time
        return entry

    async def get_blocklist(self, sha256: str) -> m.BlocklistEntry | None:
        row = (
            await self._exec("SELECT * FROM registry.blocklist WHERE sha256 = :s", {"s": sha256})
        ).first()
        return (
            m.BlocklistEntry(str(row.id), row.sha256, row.reason, row.creator, row.create_time)
            if row
            else None
        )

    async def delete_blocklist(self, sha256: str) -> bool:
        return (
            await self._exec("DELETE FROM registry.blocklist WHERE sha256 = :s", {"s": sha256})
        ).rowcount > 0

    async def list_blocklist(
        self, before: tuple[str, str] | None, limit: int
    ) -> list[m.BlocklistEntry]:
        params: dict[str, Any] = {"limit": limit}
        where = "true"
        if before:
            where = "(create_time, id) < (CAST(:bt AS timestamptz), CAST(:bid AS uuid))"
            params["bt"], params["bid"] = before
        rows = await self._exec(
            f"SELECT * FROM registry.blocklist WHERE {where} ORDER BY create_time DESC, id DESC "  # noqa: S608 - WHERE joins fixed clauses; values bound
            "LIMIT :limit",
            params,
        )
        return [
            m.BlocklistEntry(str(r.id), r.sha256, r.reason, r.creator, r.create_time) for r in rows
        ]

    async def forget_user_on_records(self, user_id: str, marker: str) -> None:
        await self._exec(
            "UPDATE registry.scans SET publisher_id = :m WHERE publisher_id = :u",
            {"u": user_id, "m": marker},
        )
        await self._exec(
            "UPDATE registry.blocklist SET creator = :m WHERE creator = :u",
            {"u": f"users/{user_id}", "m": f"users/{marker}"},
        )

    # ------------------------------------------------------------ reviews

    _REVIEW_SELECT = """SELECT r.*, n.name AS namespace, e.name AS extension FROM registry.reviews r
        JOIN registry.extensions e ON e.id = r.extension_id JOIN registry.namespaces n ON n.id =
        e.namespace_id"""

    async def get_review(self, review_id: str, *, lock: bool = False) -> m.Review | None:
        try:
            uuid.UUID(review_id)
        except ValueError:
            return None
        row = (
            await self._exec(
                self._REVIEW_SELECT + " WHERE r.id = :id" + (" FOR UPDATE OF r" if lock else ""),
                {"id": review_id},
            )
        ).first()
        return _review(row) if row else None

    async def insert_review(self, review: m.Review) -> m.Review:
        await self._exec(
            """INSERT INTO registry.reviews (id, extension_id, author_id, author_display_name,
               rating, title, text, version) VALUES (:id, :e, :a, :adn, :r, :t, :x, :v)""",
            {
                "id": review.id,
                "e": review.extension_uuid,
                "a": review.author_id,
                "adn": review.author_display_name,
                "r": review.rating,
                "t": review.title,
                "x": review.text,
                "v": review.version,
            },
            on_unique=AlreadyExists(
                "REVIEW_EXISTS",
                "you have already reviewed this extension; edit your review instead",
                resource=ResourceRef(
                    "Review", f"namespaces/{review.namespace}/extensions/{review.extension}/reviews"
                ),
            ),
        )
        got = await self.get_review(review.id)
        assert got is not None
        return got

    async def review_by_author(self, extension_uuid: str, author_id: str) -> m.Review | None:
        row = (
            await self._exec(
                self._REVIEW_SELECT + " WHERE r.extension_id = :e AND r.author_id = :a",
                {"e": extension_uuid, "a": author_id},
            )
        ).first()
        return _review(row) if row else None

    async def update_review(self, review: m.Review) -> m.Review:
        await self._exec(
            """UPDATE registry.reviews SET rating = :r, title = :t, text = :x, version = :v,
               update_time = now(), revision = revision + 1 WHERE id = :id""",
            {
                "id": review.id,
                "r": review.rating,
                "t": review.title,
                "x": review.text,
                "v": review.version,
            },
        )
        got = await self.get_review(review.id)
        assert got is not None
        return got

    async def delete_review(self, review_id: str) -> None:
        await self._exec("DELETE FROM registry.reviews WHERE id = :id", {"id": review_id})

    async def list_reviews(
        self,
        extension_uuid: str,
        before: tuple[str, str] | None,
        limit: int,
        author_id: str | None = None,
    ) -> list[m.Review]:
        params: dict[str, Any] = {"e": extension_uuid, "limit": limit}
        cond = ""
        if author_id is not None:
            cond += " AND r.author_id = :author"
            params["author"] = author_id
        if before:
            cond += " AND (r.create_time, r.id) < (CAST(:bt AS timestamptz), CAST(:bid AS uuid))"
            params["bt"], params["bid"] = before
        rows = await self._exec(
            self._REVIEW_SELECT
            + " WHERE r.extension_id = :e"
            + cond
            + " ORDER BY r.create_time DESC, r.id DESC LIMIT :limit",
            params,
        )
        return [_review(r) for r in rows]

    async def lock_extension_row(self, extension_uuid: str) -> None:
        await self._exec(
            "SELECT 1 FROM registry.extensions WHERE id = :id FOR UPDATE", {"id": extension_uuid}
        )

    async def recompute_review_aggregates(self, extension_uuid: str) -> None:
        """Exact: recounted from the rows while the extension row is locked."""
        await self._exec(
            """UPDATE registry.extensions e SET review_count = s.c, rating_sum = s.total,
                 rating_counts = s.counts, update_time = now(), revision = e.revision + 1 FROM
                 (SELECT count(*)::int AS c, COALESCE(sum(rating), 0)::int AS total, ARRAY[count(*)
                 FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = 2), count(*) FILTER
                 (WHERE rating = 3), count(*) FILTER (WHERE rating = 4), count(*) FILTER (WHERE
                 rating = 5)]::int[] AS counts FROM registry.reviews WHERE extension_id = :id) s
                 WHERE e.id = :id""",
            {"id": extension_uuid},
        )

    async def reviews_of_author(self, author_id: str) -> list[str]:
        rows = await self._exec(
            "DELETE FROM registry.reviews WHERE author_id = :a RETURNING extension_id",
            {"a": author_id},
        )
        return [str(r.extension_id) for r in rows]

    async def load_global_mean(self) -> float:
        row = (
            await self._exec(
                "SELECT sum(rating_sum)::float AS s, sum(review_count)::float AS c FROM "
                "registry.extensions"
            )
        ).one()
        if row.c:
            self.global_mean = row.s / row.c
        return self.global_mean

    # ------------------------------------------------------------ signing keys

    async def active_signing_key(self) -> m.SigningKey | None:
        row = (await self._exec("SELECT * FROM registry.signing_keys WHERE active")).first()
        return (
            m.SigningKey(
                str(row.id),
                bytes(row.public_key),
                True,
                row.create_time,
                None,
                bytes(row.private_key),
            )
            if row
            else None
        )

    async def insert_signing_key(self, key: m.SigningKey) -> bool:
        result = await self._exec(
            """INSERT INTO registry.signing_keys (id, private_key, public_key, active) VALUES (:id,
               :priv, :pub, true) ON CONFLICT DO NOTHING""",
            {"id": key.id, "priv": key.private_key, "pub": key.public_key},
        )
        return result.rowcount > 0

    async def list_signing_keys(self) -> list[m.SigningKey]:
        rows = await self._exec(
            "SELECT id, public_key, active, create_time, retire_time FROM registry.signing_keys "
            "ORDER BY active DESC, create_time DESC"
        )
        return [
            m.SigningKey(str(r.id), bytes(r.public_key), r.active, r.create_time, r.retire_time)
            for r in rows
        ]

    # ------------------------------------------------------------ outbox

    async def seal_outbox(self, limit: int) -> None:
        await self._exec(
            """UPDATE registry.download_outbox SET sealed = true WHERE id IN ( SELECT id FROM
                 registry.download_outbox WHERE NOT sealed ORDER BY id FOR UPDATE SKIP LOCKED LIMIT
                 :l)""",
            {"l": limit},
        )

    async def claim_sealed_outbox(self, limit: int) -> list[dict[str, Any]]:
        rows = await self._exec(
            """SELECT * FROM registry.download_outbox WHERE sealed AND sent_time IS NULL ORDER BY id
               FOR UPDATE SKIP LOCKED LIMIT :l""",
            {"l": limit},
        )
        return [dict(r._mapping) for r in rows]

    async def mark_outbox_sent(self, ids: Sequence[int]) -> None:
        await self._exec(
            "UPDATE registry.download_outbox SET sent_time = now() WHERE id = ANY(:ids)",
            {"ids": list(ids)},
        )

    # ------------------------------------------------------------ leaked tokens

    async def record_leaked_token(self, token: str, location: str, retry_seconds: float) -> None:
        """Keeps the token until auth has revoked it; found again, it stays one row."""
        await self._exec(
            """INSERT INTO registry.token_revocations (token, location, next_attempt_time)
               VALUES (:t, :l, now() + make_interval(secs => :s)) ON CONFLICT (token) DO NOTHING""",
            {"t": token, "l": location, "s": retry_seconds},
        )

    async def claim_leaked_tokens(
        self, limit: int, retry_seconds: float, max_retry_seconds: float
    ) -> list[tuple[int, str, str]]:
        """(id, token, location) of due rows, each pushed to its next attempt (the delay
        doubles per attempt) so that other replicas skip them meanwhile."""
        rows = await self._exec(
            """UPDATE registry.token_revocations SET attempts = attempts + 1,
                 next_attempt_time = now() + make_interval(secs => least(:max,
                   :s * power(2, least(attempts, 20))))
               WHERE id IN (SELECT id FROM registry.token_revocations
                 WHERE next_attempt_time <= now() ORDER BY id FOR UPDATE SKIP LOCKED LIMIT :l)
               RETURNING id, token, location""",
            {"l": limit, "s": retry_seconds, "max": max_retry_seconds},
        )
        return [(r.id, r.token, r.location) for r in rows]

    async def leaked_token_failed(self, token: str, error: str) -> None:
        await self._exec(
            "UPDATE registry.token_revocations SET last_error = :e WHERE token = :t",
            {"t": token, "e": error[:200]},
        )

    async def forget_leaked_token(self, token: str) -> None:
        await self._exec("DELETE FROM registry.token_revocations WHERE token = :t", {"t": token})

    # ------------------------------------------------------------ idempotency

    async def idempotent_result(self, method: str, principal: str, request_id: str) -> str | None:
        row = (
            await self._exec(
                "SELECT result FROM registry.idempotency_keys WHERE method = :m AND principal = :p "
                "AND request_id = :r",
                {"m": method, "p": principal, "r": request_id},
            )
        ).first()
        return row.result if row else None

    async def remember(self, method: str, principal: str, request_id: str, result: str) -> None:
        await self._exec(
            """INSERT INTO registry.idempotency_keys (method, principal, request_id, result) VALUES
               (:m, :p, :r, :res) ON CONFLICT DO NOTHING""",
            {"m": method, "p": principal, "r": request_id, "res": result},
        )

    # ------------------------------------------------------------ search

    async def search(self, q: m.SearchQuery) -> tuple[list[tuple[str, m.ScoreParts]], int]:
        from symphony_registry.db.search import search

        return await search(self, q)
