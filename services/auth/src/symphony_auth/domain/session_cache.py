"""GetCurrentUser's session-and-user pairs in memory, by session id, so the signed-in read that
the website and editor repeat most costs no database round trip.

Every committed write to a user or a session forgets what it touched: on this replica at once
(the unit of work's commit), on the others through the change bus (adapters/changes.py). The
lifetime bounds what a lost message can leave behind. A pair read from the database is kept
only if neither its session nor its user was forgotten while it was read, since it may predate
that write (writes to other users, on any replica, do not get in its way).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from symphony_auth.domain.models import Session, User

RECENT_FORGETS = 4096
_EVERYTHING = "*"


class SessionCache:
    def __init__(
        self, seconds: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.size = size
        self._clock = clock
        # Insertion order is expiry order: a pair is re-inserted when it is stored again.
        self._pairs: dict[str, tuple[float, Session, User]] = {}
        self._sessions_of: dict[str, set[str]] = {}
        self._generation = 0
        # (generation, key) of the latest forgets: what `put` checks a read against.
        self._recent: deque[tuple[int, str]] = deque(maxlen=RECENT_FORGETS)
        # False while the change bus cannot tell this replica about other replicas' writes.
        self._live = True

    @property
    def live(self) -> bool:
        return self._live

    @property
    def generation(self) -> int:
        """Read before loading a pair; hand it to `put`."""
        return self._generation

    def get(self, session_id: str) -> tuple[Session, User] | None:
        pair = self._pairs.get(session_id)
        if pair is None:
            return None
        if pair[0] <= self._clock():
            self._drop(session_id)
            return None
        return pair[1], pair[2]

    def put(self, session: Session, user: User, generation: int) -> None:
        if not self._live or self.seconds <= 0 or self.size <= 0:
            return
        if self._forgotten_since(generation, (f"s:{session.id}", f"u:{user.id}")):
            return
        now = self._clock()
        self._drop(session.id)
        while self._pairs:
            oldest = next(iter(self._pairs))
            if len(self._pairs) < self.size and self._pairs[oldest][0] > now:
                break
            self._drop(oldest)
        self._pairs[session.id] = (now + self.seconds, session, user)
        self._sessions_of.setdefault(user.id, set()).add(session.id)

    def forget(self, users: Iterable[str] = (), sessions: Iterable[str] = ()) -> None:
        """After a write to these users (and all their sessions) or sessions."""
        self._generation += 1
        for user_id in users:
            self._recent.append((self._generation, f"u:{user_id}"))
            for session_id in self._sessions_of.pop(user_id, ()):
                self._pairs.pop(session_id, None)
        for session_id in sessions:
            self._recent.append((self._generation, f"s:{session_id}"))
            self._drop(session_id)

    def _forgotten_since(self, generation: int, keys: tuple[str, ...]) -> bool:
        """Whether any of `keys` (or everything) was forgotten after `generation`; True also
        when the record of forgets no longer reaches back that far."""
        if generation == self._generation:
            return False
        if not self._recent or self._recent[0][0] > generation + 1:
            return True
        for forgotten_at, key in reversed(self._recent):
            if forgotten_at <= generation:
                return False
            if key in keys or key == _EVERYTHING:
                return True
        return False

    def set_live(self, live: bool) -> None:
        """Whether other replicas' writes reach `forget`. Either change empties the cache: while
        the bus was down messages may have been missed, and while it is down nothing is kept."""
        self._live = live
        self._generation += 1
        self._recent.append((self._generation, _EVERYTHING))
        self._pairs.clear()
        self._sessions_of.clear()

    def __len__(self) -> int:
        return len(self._pairs)

    def __contains__(self, session_id: str) -> bool:
        return self.get(session_id) is not None

    def _drop(self, session_id: str) -> None:
        pair = self._pairs.pop(session_id, None)
        if pair is None:
            return
        user_id = pair[2].id
        sessions = self._sessions_of.get(user_id)
        if sessions is not None:
            sessions.discard(session_id)
            if not sessions:
                del self._sessions_of[user_id]
