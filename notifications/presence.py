"""When the app was last heard from, recorded cheaply, and the nudge a silent app gets.

A phone can stop answering without anyone noticing: the app was killed, the push token
rotated, the phone is off. Beiwe's heartbeat is the model: note when each app was last
heard from (an authenticated API request with its token, websocket activity, a receipt)
and, after a silence, send one "please open the app" push. The rule for how long is a
silence belongs to the app that knows the clinic (recovery); this module only records.

Recording costs a cache `add` per request and at most one note per user per
APP_HEARD_RESOLUTION_SECONDS, never a write per request. The notes of a process wait up
to APP_HEARD_WRITE_DELAY_SECONDS and are then written together, one statement for all of
them: a patient's first request of the day (a check-in, say) is heard from at no cost to
that request. A silence that matters lasts days, so the record being seconds late
changes nothing; a process killed outright loses the notes of its last seconds, and the
app's next request after the resolution window notes it again.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Collection
from datetime import datetime
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from notifications.models import AppPresence

logger = logging.getLogger(__name__)


def _throttle_key(user_id: int) -> str:
    return f"app-heard:{user_id}"


def heard_from(*, user_id: int, now: datetime | None = None) -> bool:
    """Note that the app of `user_id` was heard from; returns whether it was noted (once
    per resolution window per user; a cache or database in trouble only skips the note).
    Written after APP_HEARD_WRITE_DELAY_SECONDS with the process's other notes, or at once
    if that is 0."""
    try:
        if not cache.add(_throttle_key(user_id), 1, timeout=settings.APP_HEARD_RESOLUTION_SECONDS):
            return False
    except Exception as exc:  # the cache's own errors (redis-py's are not OSError)
        logger.warning("could not note the app was heard from: %s", type(exc).__name__)
        return False
    at = now or timezone.now()
    delay = settings.APP_HEARD_WRITE_DELAY_SECONDS
    if delay <= 0:
        return _write({user_id: at})
    global _timer
    with _lock:
        _waiting[user_id] = max(at, _waiting.get(user_id, at))
        if _timer is None:
            _timer = threading.Timer(delay, _flush_on_timer)
            _timer.daemon = True
            _timer.start()
    return True


_waiting: dict[int, datetime] = {}
_lock = threading.Lock()
_timer: threading.Timer | None = None


def presence_flush() -> int:
    """Write the notes waiting in this process now, in one statement; returns how many."""
    global _timer
    with _lock:
        waiting = dict(_waiting)
        _waiting.clear()
        if _timer is not None:
            _timer.cancel()
            _timer = None
    return len(waiting) if waiting and _write(waiting) else 0


def _flush_on_timer() -> None:
    try:
        presence_flush()
    finally:
        connection.close()  # the timer thread's own connection


atexit.register(presence_flush)


def _write(heard: dict[int, datetime]) -> bool:
    try:
        AppPresence.objects.bulk_create(
            [AppPresence(user_id=user_id, last_heard_at=at) for user_id, at in heard.items()],
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["last_heard_at"],
        )
    except DatabaseError as exc:
        logger.warning("could not note the app was heard from: %s", type(exc).__name__)
        return False
    return True


def presence_mark_nudged(*, silences: Collection[tuple[int, datetime]]) -> int:
    """Record that these silences (user id, the `last_heard_at` the silence began from)
    were nudged. A user heard from since then keeps the newer silence un-nudged."""
    if not silences:
        return 0
    condition = reduce(or_, (Q(user_id=u, last_heard_at=since) for u, since in silences))
    return AppPresence.objects.filter(condition).update(nudged_for=F("last_heard_at"))


class HeardFromMiddleware:
    """Notes the app as heard from after every request authenticated with a bearer token
    (the app's; the dashboard's browser session is not the app)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "HTTP_AUTHORIZATION" in request.META:
            user = getattr(request, "user", None)  # DRF copies its authenticated user here
            if user is not None and user.is_authenticated:
                heard_from(user_id=user.pk)
        return response
