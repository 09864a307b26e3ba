"""RG-7 (exact counters and reviews under concurrency), RG-8 (object-level authorization), the
download outbox to analytics, and caching that stays correct with Redis down and across
replicas."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import grpc
import psycopg
import pytest

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import resources_pb2 as pb
from tests.integration.registry.conftest import RegistryHarness, start_registry
from tests.integration.registry.test_publishing import expect
from tests.integration.registry.vsix import build_vsix

DOWNLOADS = 1000 if os.environ.get("SYMPHONY_TEST_TIER") == "nightly" else 300


async def test_concurrent_downloads_are_counted_exactly_and_reach_analytics(
    registry: RegistryHarness,
) -> None:
    ns = await registry.namespace("kim")
    await registry.publish(build_vsix(ns, "popular", "1.0.0"), "kim")
    name = f"namespaces/{ns}/extensions/popular/versions/1.0.0"
    sem = asyncio.Semaphore(100)

    async def one() -> None:
        async with sem:
            await registry.download(name)

    await asyncio.gather(*(one() for _ in range(DOWNLOADS)))
    # A ranged read is not a download: not a resumed one, nor a probe of the first bytes.
    await registry.download(name, offset=10, length=10)
    await registry.download(name, offset=0, length=10)
    version = await registry.stub.GetVersion(spb.GetVersionRequest(name=name))
    assert version.download_count == DOWNLOADS
    ext = await registry.stub.GetExtension(
        spb.GetExtensionRequest(name=f"namespaces/{ns}/extensions/popular")
    )
    assert ext.download_count == DOWNLOADS
    outbox = registry.running.wiring.registry["outbox"]  # type: ignore[attr-defined]
    # Analytics down: nothing is lost, the rows wait.
    registry.analytics.down = True
    with pytest.raises(Exception):
        await outbox.flush()
    registry.analytics.down = False
    await outbox.flush()
    mine = [r for r in registry.analytics.received.values() if r["namespace"] == ns]
    assert sum(r["downloads"] for r in mine) == DOWNLOADS
    # Sent rows are not sent again.
    before = len(registry.analytics.received)
    await outbox.flush()
    assert len(registry.analytics.received) == before


async def test_one_review_per_user_under_concurrency_and_exact_aggregates(
    registry: RegistryHarness,
) -> None:
    ns = await registry.namespace("lee")
    await registry.publish(build_vsix(ns, "rated", "1.0.0"), "lee")
    parent = f"namespaces/{ns}/extensions/rated"

    async def review(user: str, rating: int) -> grpc.StatusCode:
        try:
            await registry.stub.CreateReview(
                spb.CreateReviewRequest(parent=parent, review=pb.Review(rating=rating, title="t")),
                metadata=registry.token(user),
            )
            return grpc.StatusCode.OK
        except grpc.aio.AioRpcError as error:
            return error.code()

    codes = await asyncio.gather(*(review("same-user", 4) for _ in range(20)))
    assert codes.count(grpc.StatusCode.OK) == 1
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.ALREADY_EXISTS}
    ratings = [1, 2, 3, 4, 5, 5, 5, 2]
    await asyncio.gather(*(review(f"u{i}", r) for i, r in enumerate(ratings)))
    listed = await registry.stub.ListReviews(spb.ListReviewsRequest(parent=parent))
    all_ratings = [*ratings, 4]
    assert listed.summary.review_count == len(all_ratings) == len(listed.reviews)
    assert listed.summary.average_rating == pytest.approx(sum(all_ratings) / len(all_ratings))
    assert list(listed.summary.rating_counts) == [all_ratings.count(i) for i in range(1, 6)]
    with psycopg.connect(registry.settings.database_url) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM registry.reviews r"
            " JOIN registry.extensions e ON e.id = r.extension_id "
            "WHERE e.name = 'rated' AND r.author_id = 'same-user'"
        ).fetchone()[0]
    assert rows == 1
    for bad in (0, 6, -1):
        await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            "RATING_OUT_OF_RANGE",
            registry.stub.CreateReview(
                spb.CreateReviewRequest(parent=parent, review=pb.Review(rating=bad, title="t")),
                metadata=registry.token("other"),
            ),
        )
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "TITLE_INVALID",
        registry.stub.CreateReview(
            spb.CreateReviewRequest(parent=parent, review=pb.Review(rating=3, title="x" * 121)),
            metadata=registry.token("other"),
        ),
    )
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "TEXT_TOO_LONG",
        registry.stub.CreateReview(
            spb.CreateReviewRequest(
                parent=parent, review=pb.Review(rating=3, title="ok", text="x" * 4001)
            ),
            metadata=registry.token("other"),
        ),
    )


async def test_object_level_authorization(registry: RegistryHarness) -> None:
    """RG-8: user B cannot edit or delete A's review, extension or namespace membership."""
    ns = await registry.namespace("anna")
    await registry.publish(build_vsix(ns, "mine", "1.0.0"), "anna")
    parent = f"namespaces/{ns}/extensions/mine"
    a, b = registry.token("anna"), registry.token("bert")
    review = await registry.stub.CreateReview(
        spb.CreateReviewRequest(parent=parent, review=pb.Review(rating=5, title="great")),
        metadata=a,
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "REVIEW_NOT_OWNED",
        registry.stub.UpdateReview(
            spb.UpdateReviewRequest(review=pb.Review(name=review.name, rating=1, title="bad")),
            metadata=b,
        ),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "REVIEW_NOT_OWNED",
        registry.stub.DeleteReview(spb.DeleteReviewRequest(name=review.name), metadata=b),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.stub.YankVersion(
            spb.YankVersionRequest(name=f"{parent}/versions/1.0.0"), metadata=b
        ),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.stub.UnpublishVersion(
            spb.UnpublishVersionRequest(name=f"{parent}/versions/1.0.0"), metadata=b
        ),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.stub.AddNamespaceMember(
            spb.AddNamespaceMemberRequest(
                parent=f"namespaces/{ns}", user="users/bert", role=pb.NAMESPACE_ROLE_OWNER
            ),
            metadata=b,
        ),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.stub.RemoveNamespaceMember(
            spb.RemoveNamespaceMemberRequest(name=f"namespaces/{ns}/members/anna"), metadata=b
        ),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.stub.UpdateNamespace(
            spb.UpdateNamespaceRequest(
                namespace=pb.Namespace(name=f"namespaces/{ns}", display_name="pwned")
            ),
            metadata=b,
        ),
    )
    # A contributor may publish but not manage members.
    await registry.stub.AddNamespaceMember(
        spb.AddNamespaceMemberRequest(
            parent=f"namespaces/{ns}", user="users/bert", role=pb.NAMESPACE_ROLE_CONTRIBUTOR
        ),
        metadata=a,
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NAMESPACE_ACCESS_DENIED",
        registry.stub.UpdateNamespaceMember(
            spb.UpdateNamespaceMemberRequest(
                namespace_member=pb.NamespaceMember(
                    name=f"namespaces/{ns}/members/bert", role=pb.NAMESPACE_ROLE_OWNER
                )
            ),
            metadata=b,
        ),
    )
    _, scan = await registry.publish(build_vsix(ns, "mine", "1.1.0"), "bert")
    assert scan.state == pb.SCAN_STATE_PASSED
    # The last owner cannot leave; the owner's own edits work, with etags.
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "LAST_OWNER",
        registry.stub.RemoveNamespaceMember(
            spb.RemoveNamespaceMemberRequest(name=f"namespaces/{ns}/members/anna"), metadata=a
        ),
    )
    edited = await registry.stub.UpdateReview(
        spb.UpdateReviewRequest(review=pb.Review(name=review.name, rating=4, etag=review.etag)),
        metadata=a,
    )
    assert edited.rating == 4 and edited.title == "great"
    await expect(
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
        registry.stub.DeleteReview(
            spb.DeleteReviewRequest(name=review.name, etag=review.etag), metadata=a
        ),
    )
    await registry.stub.DeleteReview(spb.DeleteReviewRequest(name=review.name), metadata=a)


async def test_cache_is_invalidated_and_redis_down_is_harmless(registry: RegistryHarness) -> None:
    ns = await registry.namespace("moe")
    await registry.publish(build_vsix(ns, "cached", "1.0.0"), "moe")
    name = f"namespaces/{ns}/extensions/cached"
    assert (
        await registry.stub.GetExtension(spb.GetExtensionRequest(name=name))
    ).latest_version.version == "1.0.0"
    await registry.publish(build_vsix(ns, "cached", "1.1.0"), "moe")
    assert (
        await registry.stub.GetExtension(spb.GetExtensionRequest(name=name))
    ).latest_version.version == "1.1.0"
    cache = registry.service.cache
    real = cache.redis
    from symphony_common.redis import create_redis

    cache.redis = create_redis("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        await registry.stub.YankVersion(
            spb.YankVersionRequest(name=f"{name}/versions/1.1.0"), metadata=registry.token("moe")
        )
        assert (
            await registry.stub.GetExtension(spb.GetExtensionRequest(name=name))
        ).latest_version.version == "1.0.0"
        found = await registry.stub.SearchExtensions(
            spb.SearchExtensionsRequest(query=f"{ns}.cached")
        )
        assert found.results[0].extension.name == name
    finally:
        await cache.redis.aclose()
        cache.redis = real


async def test_another_replicas_change_shows_within_the_local_cache_window(
    registry: RegistryHarness,
    registry_database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    """NOTES.md: a replica reuses a cached extension for LOCAL_CACHE_SECONDS without asking
    Redis; another replica's deprecation must show once that window has passed, including on
    the message this replica built for its cached copy."""
    ns = await registry.namespace("moe")
    await registry.publish(build_vsix(ns, "shared", "1.0.0"), "moe")
    name = f"namespaces/{ns}/extensions/shared"
    for _ in range(2):  # the second answer comes from this replica's local copy
        got = await registry.stub.GetExtension(spb.GetExtensionRequest(name=name))
        assert got.latest_version.version == "1.0.0"
        assert not got.HasField("deprecation")
    other = await start_registry(registry_database_url, redis_url, tmp_path, worker_enabled=False)
    try:
        await other.stub.DeprecateExtension(
            spb.DeprecateExtensionRequest(name=name, message="moved"), metadata=other.token("moe")
        )
    finally:
        await other.channel.close()
        await other.running.stop(0.5)
    await asyncio.sleep(registry.settings.local_cache_seconds + 0.1)
    got = await registry.stub.GetExtension(spb.GetExtensionRequest(name=name))
    assert got.deprecation.message == "moved"
