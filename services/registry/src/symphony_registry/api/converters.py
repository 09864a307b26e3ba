"""Domain records ⇄ protobuf messages."""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from symphony.registry.v1 import registry_internal_service_pb2 as ipb
from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import resources_pb2 as pb
from symphony_common.grpc.convert import proto_enum
from symphony_registry.domain import models as m
from symphony_registry.domain.service import (
    extension_etag,
    member_etag,
    namespace_etag,
    review_etag,
    scan_etag,
)
from symphony_registry.domain.signing import public_key_pem


def ts(value: dt.datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return out


def _set_ts(msg: Any, field: str, value: dt.datetime | None) -> None:
    stamp = ts(value)
    if stamp is not None:
        getattr(msg, field).CopyFrom(stamp)


def namespace(ns: m.Namespace) -> pb.Namespace:
    out = pb.Namespace(
        name=f"namespaces/{ns.name}",
        uid=ns.id,
        display_name=ns.display_name,
        description=ns.description,
        website_url=ns.website_url,
        support_url=ns.support_url,
        owner=ns.owner,
        verified=ns.verified,
        extension_count=ns.extension_count,
        etag=namespace_etag(ns),
    )
    _set_ts(out, "verify_time", ns.verify_time)
    _set_ts(out, "create_time", ns.create_time)
    _set_ts(out, "update_time", ns.update_time)
    return out


def member(mb: m.Member) -> pb.NamespaceMember:
    out = pb.NamespaceMember(
        name=f"namespaces/{mb.namespace}/members/{mb.user_id}",
        uid=mb.id,
        user=f"users/{mb.user_id}",
        role=proto_enum(pb.NamespaceRole, mb.role),
        etag=member_etag(mb),
    )
    _set_ts(out, "create_time", mb.create_time)
    _set_ts(out, "update_time", mb.update_time)
    return out


def signature(sig: m.Signature | None) -> pb.PackageSignature | None:
    if sig is None:
        return None
    return pb.PackageSignature(
        key=f"publishing/keys/{sig.key_id}",
        algorithm=pb.SIGNING_ALGORITHM_ED25519,
        signature=sig.signature,
        manifest=sig.manifest,
    )


def version(v: m.Version, window: dt.timedelta = dt.timedelta(hours=72)) -> pb.Version:
    out = pb.Version(
        name=f"namespaces/{v.namespace}/extensions/{v.extension}/versions/{v.version}",
        uid=v.id,
        version=v.version,
        target_platform=v.target_platform,
        available_target_platforms=v.available_target_platforms,
        pre_release=v.pre_release,
        display_name=v.display_name,
        description=v.description,
        categories=v.categories,
        tags=v.tags,
        license=v.license,
        homepage_url=v.homepage_url,
        repository_url=v.repository_url,
        bugs_url=v.bugs_url,
        engines=[pb.EngineRequirement(engine=e, range=r) for e, r in v.engines],
        dependencies=v.dependencies,
        bundled_extensions=v.bundled_extensions,
        files=sorted(v.files),
        package_size_bytes=v.package_size,
        package_sha256=v.package_sha256,
        scan=f"publishing/scans/{v.scan_id}" if v.scan_id else "",
        scan_state=proto_enum(pb.ScanState, v.scan_state),
        publisher=f"users/{v.publisher_id}",
        yanked=v.yanked,
        yank_reason=v.yank_reason,
        download_count=v.download_count,
        etag=v.etag,
    )
    sig = signature(v.signature)
    if sig is not None:
        out.signature.CopyFrom(sig)
    _set_ts(out, "yank_time", v.yank_time)
    if v.create_time:
        _set_ts(out, "unpublish_deadline", v.create_time + window)
    _set_ts(out, "create_time", v.create_time)
    _set_ts(out, "update_time", v.update_time)
    return out


def deprecation(d: m.Deprecation | None) -> pb.Deprecation | None:
    if d is None:
        return None
    out = pb.Deprecation(
        replacement=d.replacement, replacement_id=d.replacement_id, message=d.message
    )
    _set_ts(out, "deprecate_time", d.deprecate_time)
    return out


def summary(s: m.ReviewSummary) -> pb.ReviewSummary:
    return pb.ReviewSummary(
        review_count=s.review_count,
        average_rating=s.average_rating,
        bayesian_rating=s.bayesian_rating,
        rating_counts=s.rating_counts,
    )


def extension(e: m.Extension, window: dt.timedelta = dt.timedelta(hours=72)) -> pb.Extension:
    out = pb.Extension(
        name=f"namespaces/{e.namespace}/extensions/{e.name}",
        uid=e.id,
        extension_id=e.ext_id,
        namespace=e.namespace,
        verified=e.verified,
        display_name=e.display_name,
        description=e.description,
        categories=e.categories,
        tags=e.tags,
        target_platforms=e.target_platforms,
        download_count=e.download_count,
        review_summary=summary(e.review_summary),
        etag=extension_etag(e),
    )
    if e.latest_version is not None:
        out.latest_version.CopyFrom(version(e.latest_version, window))
    if e.pre_release_version is not None:
        out.pre_release_version.CopyFrom(version(e.pre_release_version, window))
    dep = deprecation(e.deprecation)
    if dep is not None:
        out.deprecation.CopyFrom(dep)
    _set_ts(out, "create_time", e.create_time)
    _set_ts(out, "update_time", e.update_time)
    return out


R = TypeVar("R")
M = TypeVar("M")


class Memo(Generic[R, M]):
    """Converts a record once for as long as it lives. The domain's local cache hands out the
    same record, never changed, on every hit, so building its message per call was most of a
    cached GetExtension's cost. A changed extension is a new record (converted afresh), and a
    message goes with its record. The message is shared: serialize it, never modify it."""

    def __init__(self, convert: Callable[[R], M]) -> None:
        self._convert = convert
        self._messages: dict[int, tuple[weakref.ref[R], M]] = {}

    def __call__(self, record: R) -> M:
        key = id(record)
        known = self._messages.get(key)
        if known is not None and known[0]() is record:
            return known[1]
        message = self._convert(record)
        self._messages[key] = (weakref.ref(record, self._forget(key)), message)
        return message

    def _forget(self, key: int) -> Callable[[weakref.ref[R]], None]:
        def forget(ref: weakref.ref[R]) -> None:
            known = self._messages.get(key)
            if known is not None and known[0] is ref:
                del self._messages[key]

        return forget


def scan(s: m.Scan) -> pb.Scan:
    out = pb.Scan(
        name=f"publishing/scans/{s.id}",
        uid=s.id,
        version=f"namespaces/{s.namespace}/extensions/{s.extension}/versions/{s.version}",
        target_platform=s.target_platform,
        publisher=f"users/{s.publisher_id}",
        package_sha256=s.package_sha256,
        state=proto_enum(pb.ScanState, s.state),
        etag=scan_etag(s),
    )
    for run in s.checks:
        item = out.checks.add(check=int(run.check), state=int(run.state))
        _set_ts(item, "start_time", run.start_time)
        _set_ts(item, "end_time", run.end_time)
    for f in s.findings:
        out.findings.add(
            check=int(f.check),
            severity=int(f.severity),
            reason=f.reason,
            file=f.file,
            line=f.line,
            message=f.message,
            remedy=f.remedy,
            metadata=f.metadata,
        )
    if s.decision is not None:
        out.decision.allowed = s.decision.allowed
        out.decision.administrator = s.decision.administrator
        out.decision.reason = s.decision.reason
        _set_ts(out.decision, "decide_time", s.decision.decide_time)
    _set_ts(out, "create_time", s.create_time)
    _set_ts(out, "update_time", s.update_time)
    _set_ts(out, "complete_time", s.complete_time)
    return out


def blocklist_entry(b: m.BlocklistEntry) -> pb.BlocklistEntry:
    out = pb.BlocklistEntry(
        name=f"publishing/blocklist/{b.sha256}",
        uid=b.id,
        sha256=b.sha256,
        reason=b.reason,
        creator=b.creator,
    )
    _set_ts(out, "create_time", b.create_time)
    return out


def review(r: m.Review) -> pb.Review:
    out = pb.Review(
        name=f"namespaces/{r.namespace}/extensions/{r.extension}/reviews/{r.id}",
        uid=r.id,
        author=f"users/{r.author_id}",
        author_display_name=r.author_display_name,
        rating=r.rating,
        title=r.title,
        text=r.text,
        version=r.version,
        etag=review_etag(r),
    )
    _set_ts(out, "create_time", r.create_time)
    _set_ts(out, "update_time", r.update_time)
    return out


def signing_key(k: m.SigningKey) -> pb.SigningKey:
    out = pb.SigningKey(
        name=f"publishing/keys/{k.id}",
        uid=k.id,
        algorithm=pb.SIGNING_ALGORITHM_ED25519,
        public_key=k.public_key,
        public_key_pem=public_key_pem(k.public_key),
        state=pb.SIGNING_KEY_STATE_ACTIVE if k.active else pb.SIGNING_KEY_STATE_RETIRED,
    )
    _set_ts(out, "create_time", k.create_time)
    _set_ts(out, "retire_time", k.retire_time)
    return out


def explanation(p: m.ScoreParts) -> spb.ScoreExplanation:
    return spb.ScoreExplanation(
        score=p.score,
        text_score=p.text_score,
        exact_id=p.exact_id,
        name=p.name,
        tags=p.tags,
        namespace=p.namespace,
        description=p.description,
        fuzzy=p.fuzzy,
        relevance=p.relevance,
        rating=p.rating,
        downloads=p.downloads,
        recency=p.recency,
        verified_factor=p.verified_factor,
        deprecated_factor=p.deprecated_factor,
    )


def namespace_access(ns_name: str, role: m.Role, source: int) -> ipb.NamespaceAccess:
    return ipb.NamespaceAccess(
        namespace=f"namespaces/{ns_name}",
        role=proto_enum(pb.NamespaceRole, role),
        source=proto_enum(ipb.AccessSource, source if role else 0),
    )
