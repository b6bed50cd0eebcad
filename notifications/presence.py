"""When the app was last heard from, recorded cheaply, and the nudge a silent app gets.

A phone can stop answering without anyone noticing: the app was killed, the push token
rotated, the phone is off. Beiwe's heartbeat is the model: note when each app was last
heard from (an authenticated API request with its token, websocket activity, a receipt)
and, after a silence, send one "please open the app" push. The rule for how long is a
silence belongs to the app that knows the clinic (recovery); this module only records.

Recording costs a cache `add` per request and at most one upsert per user per
APP_HEARD_RESOLUTION_SECONDS, never a write per request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from notifications.models import AppPresence

logger = logging.getLogger(__name__)


def _throttle_key(user_id: int) -> str:
    return f"app-heard:{user_id}"


def heard_from(*, user_id: int, now: datetime | None = None) -> bool:
    """Note that the app of `user_id` was heard from; returns whether it was written (once
    per resolution window per user; a cache or database in trouble only skips the note)."""
    try:
        if not cache.add(_throttle_key(user_id), 1, timeout=settings.APP_HEARD_RESOLUTION_SECONDS):
            return False
    except Exception as exc:  # the cache's own errors (redis-py's are not OSError)
        logger.warning("could not note the app was heard from: %s", type(exc).__name__)
        return False
    try:
        AppPresence.objects.bulk_create(
            [AppPresence(user_id=user_id, last_heard_at=now or timezone.now())],
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
