"""The session cache (GetCurrentUser's pairs): lifetime, bound, what a write forgets, and the
read that raced a write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from symphony_auth.domain.models import AuthMethod, Session, User, UserState
from symphony_auth.domain.session_cache import SessionCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def user() -> User:
    now = datetime.now(UTC)
    return User(
        id=str(uuid.uuid4()),
        email="someone@example.com",
        email_verified=True,
        display_name="Someone",
        password_hash=None,
        state=UserState.ACTIVE,
        lock_expire_time=None,
        password_change_time=None,
        create_time=now,
        update_time=now,
        delete_time=None,
        version=1,
    )


def session(of: User) -> Session:
    now = datetime.now(UTC)
    return Session(
        id=str(uuid.uuid4()),
        user_id=of.id,
        device_name="laptop",
        platform="linux",
        method=AuthMethod.PASSWORD,
        identity_provider="",
        client_address="",
        user_agent="",
        scopes="",
        create_time=now,
        last_use_time=now,
        idle_expire_time=now + timedelta(days=30),
        absolute_expire_time=now + timedelta(days=90),
        revoke_time=None,
        revoke_reason=None,
    )


def test_a_pair_lives_for_its_lifetime() -> None:
    clock = Clock()
    cache = SessionCache(5.0, 100, clock)
    u = user()
    s = session(u)
    cache.put(s, u, cache.generation)
    assert cache.get(s.id) == (s, u)
    clock.now += 4.9
    assert cache.get(s.id) == (s, u)
    clock.now += 0.2
    assert cache.get(s.id) is None and len(cache) == 0


def test_forgetting_a_user_forgets_all_their_sessions_only() -> None:
    cache = SessionCache(5.0, 100, Clock())
    u, other = user(), user()
    mine = [session(u), session(u)]
    theirs = session(other)
    for s in mine:
        cache.put(s, u, cache.generation)
    cache.put(theirs, other, cache.generation)
    cache.forget(users=[u.id])
    assert all(s.id not in cache for s in mine)
    assert theirs.id in cache


def test_forgetting_a_session_keeps_the_users_other_sessions() -> None:
    cache = SessionCache(5.0, 100, Clock())
    u = user()
    first, second = session(u), session(u)
    cache.put(first, u, cache.generation)
    cache.put(second, u, cache.generation)
    cache.forget(sessions=[first.id])
    assert first.id not in cache and second.id in cache
    cache.forget(users=[u.id])
    assert second.id not in cache


def test_a_pair_read_before_a_write_is_not_kept() -> None:
    cache = SessionCache(5.0, 100, Clock())
    u = user()
    s = session(u)
    generation = cache.generation  # the read starts
    cache.forget(sessions=[s.id])  # a write commits (here or on another replica) meanwhile
    cache.put(s, u, generation)  # the read's rows may predate it
    assert s.id not in cache
    cache.put(s, u, cache.generation)
    assert s.id in cache


def test_writes_to_other_users_meanwhile_do_not_stop_a_pair_being_kept() -> None:
    """On a busy cluster some write lands during almost every read; only the read's own
    session or user makes its rows suspect."""
    cache = SessionCache(5.0, 100, Clock())
    u, other = user(), user()
    s = session(u)
    generation = cache.generation
    cache.forget(users=[other.id], sessions=[session(other).id])
    cache.put(s, u, generation)
    assert s.id in cache
    generation = cache.generation
    cache.forget(users=[u.id])  # the user changed while its session was read
    cache.put(s, u, generation)
    assert s.id not in cache


def test_the_size_is_bounded_and_the_oldest_goes_first() -> None:
    cache = SessionCache(5.0, 3, Clock())
    u = user()
    sessions = [session(u) for _ in range(4)]
    for s in sessions:
        cache.put(s, u, cache.generation)
    assert len(cache) == 3
    assert sessions[0].id not in cache
    assert all(s.id in cache for s in sessions[1:])


def test_nothing_is_kept_while_not_live_and_going_live_starts_empty() -> None:
    cache = SessionCache(5.0, 100, Clock())
    u = user()
    s = session(u)
    cache.put(s, u, cache.generation)
    cache.set_live(False)
    assert s.id not in cache
    cache.put(s, u, cache.generation)
    assert s.id not in cache
    cache.set_live(True)
    cache.put(s, u, cache.generation)
    assert s.id in cache
    cache.set_live(True)  # a reconnection: messages may have been missed meanwhile
    assert s.id not in cache


def test_a_zero_lifetime_disables_it() -> None:
    cache = SessionCache(0, 100, Clock())
    u = user()
    s = session(u)
    cache.put(s, u, cache.generation)
    assert s.id not in cache
