"""What handlers may ask Canvas, behind a cache: the :class:`CanvasLookups` protocol.

Handlers read the event payload first and call a lookup only for what the payload lacks
(the user's SIS id when the actor extension has none, a quiz title, an assignment name,
a course name). :class:`CachedCanvasLookups` answers over any ``get(path, **params)``
callable (``CanvasClient.get``) and keeps every answer, including "not found", for
``ttl_s`` seconds in a bounded LRU, so a busy course costs one call per object per TTL.
:class:`OfflineLookups` answers nothing; ``events explain`` uses it without ``--live``.

Parameters of :class:`CachedCanvasLookups`: ``ttl_s`` (seconds an answer is kept,
default :data:`DEFAULT_TTL_S`), ``max_entries`` (LRU size, default :data:`DEFAULT_MAX_ENTRIES`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from canvasbridge.errors import NotFoundError

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 3600.0  # names and SIS ids rarely change within an hour
DEFAULT_MAX_ENTRIES = 100_000  # about 30 MB at worst

Getter = Callable[..., Any]


class CanvasLookups(Protocol):
    """Answers about Canvas objects, by local id; ``None`` when unknown or not found."""

    def user_sis_id(self, user_id: str, course_id: str | None = None) -> str | None: ...
    def course_name(self, course_id: str) -> str | None: ...
    def quiz_title(self, course_id: str, quiz_id: str) -> str | None: ...
    def assignment_name(self, course_id: str, assignment_id: str) -> str | None: ...
    def discussion_title(self, course_id: str, topic_id: str) -> str | None: ...
    def quiz_score(self, course_id: str, quiz_id: str, submission_id: str) -> str | None: ...
    def submission_grade(self, course_id: str, assignment_id: str, user_id: str) -> str | None: ...


class OfflineLookups:
    """Knows nothing: every answer is ``None`` (the handlers fall back to ids)."""

    def user_sis_id(self, user_id: str, course_id: str | None = None) -> str | None:
        return None

    def course_name(self, course_id: str) -> str | None:
        return None

    def quiz_title(self, course_id: str, quiz_id: str) -> str | None:
        return None

    def assignment_name(self, course_id: str, assignment_id: str) -> str | None:
        return None

    def discussion_title(self, course_id: str, topic_id: str) -> str | None:
        return None

    def quiz_score(self, course_id: str, quiz_id: str, submission_id: str) -> str | None:
        return None

    def submission_grade(self, course_id: str, assignment_id: str, user_id: str) -> str | None:
        return None


def _points(score: Any, possible: Any) -> str | None:
    if score is None:
        return None
    return f"{score:g}/{possible:g}" if isinstance(possible, int | float) else f"{score}"


class CachedCanvasLookups:
    """:class:`CanvasLookups` over ``get(path, **params) -> JSON``, with a TTL LRU cache."""

    def __init__(
        self,
        get: Getter,
        *,
        paginate: Callable[..., Iterable[Any]] | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._get = get
        self._paginate = paginate
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[tuple[str, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.calls = 0
        self.hits = 0

    def _cached(self, key: tuple[str, ...], fetch: Callable[[], Any]) -> Any:
        now = self._clock()
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and entry[0] > now:
                self._cache.move_to_end(key)
                self.hits += 1
                return entry[1]
        self.calls += 1
        try:
            value = fetch()
        except NotFoundError:
            log.info("canvas lookup %s: not found", "/".join(key))
            value = None
        with self._lock:
            self._cache[key] = (now + self._ttl_s, value)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return value

    def _field(self, key: tuple[str, ...], path: str, field: str, **params: Any) -> str | None:
        def fetch() -> Any:
            body = self._get(path, **params)
            value = body.get(field) if isinstance(body, dict) else None
            return None if value in (None, "") else str(value)

        return self._cached(key, fetch)  # type: ignore[no-any-return]

    def user_sis_id(self, user_id: str, course_id: str | None = None) -> str | None:
        """The SIS id; a miss in a course first reads that course's roster (≈ 1 call per 100 users)."""
        key = ("user", user_id)
        if course_id and self._paginate is not None and not self._fresh(key):
            self._roster(course_id)
        return self._field(key, f"users/{user_id}", "sis_user_id")

    def _fresh(self, key: tuple[str, ...]) -> bool:
        with self._lock:
            entry = self._cache.get(key)
            return entry is not None and entry[0] > self._clock()

    def _roster(self, course_id: str) -> None:
        """Cache the SIS id of every user of the course (once per TTL per course)."""
        marker = ("roster", course_id)
        if self._fresh(marker):
            return
        self.calls += 1  # at least one page
        found: list[tuple[str, Any]] = []
        try:
            assert self._paginate is not None
            for index, user in enumerate(self._paginate(f"courses/{course_id}/users", per_page=100)):
                if index and index % 100 == 0:
                    self.calls += 1
                if isinstance(user, dict) and user.get("id") is not None:
                    sis = user.get("sis_user_id")
                    found.append((str(user["id"]), None if sis in (None, "") else str(sis)))
        except NotFoundError:
            pass
        now = self._clock()
        with self._lock:
            for user_id, sis in found:
                self._cache[("user", user_id)] = (now + self._ttl_s, sis)
            self._cache[marker] = (now + self._ttl_s, True)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)

    def course_name(self, course_id: str) -> str | None:
        return self._field(("course", course_id), f"courses/{course_id}", "name")

    def quiz_title(self, course_id: str, quiz_id: str) -> str | None:
        return self._field(("quiz", course_id, quiz_id), f"courses/{course_id}/quizzes/{quiz_id}", "title")

    def assignment_name(self, course_id: str, assignment_id: str) -> str | None:
        path = f"courses/{course_id}/assignments/{assignment_id}"
        return self._field(("assignment", course_id, assignment_id), path, "name")

    def discussion_title(self, course_id: str, topic_id: str) -> str | None:
        path = f"courses/{course_id}/discussion_topics/{topic_id}"
        return self._field(("discussion", course_id, topic_id), path, "title")

    # Scores and grades change with every submission, so they are fetched, never cached.

    def _uncached(self, path: str) -> Any:
        self.calls += 1
        try:
            return self._get(path)
        except NotFoundError:
            return None

    def quiz_score(self, course_id: str, quiz_id: str, submission_id: str) -> str | None:
        body = self._uncached(f"courses/{course_id}/quizzes/{quiz_id}/submissions/{submission_id}")
        rows = body.get("quiz_submissions") if isinstance(body, dict) else None
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        return _points(row.get("score"), row.get("quiz_points_possible"))

    def submission_grade(self, course_id: str, assignment_id: str, user_id: str) -> str | None:
        body = self._uncached(f"courses/{course_id}/assignments/{assignment_id}/submissions/{user_id}")
        grade = body.get("grade") if isinstance(body, dict) else None
        return None if grade in (None, "") else str(grade)
