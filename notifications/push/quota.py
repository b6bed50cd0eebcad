"""A pause of all pushing after FCM answered 429, shared by every dispatcher process.

FCM's quota is per project and per minute: once it is spent, every further request in the
window is refused again, and the SDK never retries a 429 itself. So the first 429 pauses
pushing until its Retry-After has passed, and the pause lives in the cache (Redis in
production), where every worker sees it. A cache that is down pauses nobody else; each
batch still stops at its own first 429.
"""

from __future__ import annotations

import logging
import math
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

PAUSE_KEY = "push:fcm:paused-until"
# FCM's quota window is a minute: without a Retry-After, wait out a whole one.
DEFAULT_PAUSE_SECONDS = 60.0


def push_pause(*, seconds: float | None) -> float:
    """Pause pushing for `seconds` (a 429's Retry-After) from now, never shortening a
    longer pause already in place. Returns how long pushing is now paused for."""
    wanted = DEFAULT_PAUSE_SECONDS if seconds is None else max(0.0, seconds)
    now = time.time()
    until = now + wanted
    try:
        current = cache.get(PAUSE_KEY)
        if current is not None and float(current) > until:
            return float(current) - now
        cache.set(PAUSE_KEY, until, timeout=math.ceil(wanted) + 1)
    except Exception as exc:  # a cache that is down must not stop this batch's bookkeeping
        logger.warning("push pause not shared, cache unavailable: %s", type(exc).__name__)
    logger.warning("fcm quota exhausted: pushing paused for %.0f s", wanted)
    return wanted


def push_paused_for() -> float:
    """Seconds until pushing may resume; 0 when it is not paused."""
    try:
        until = cache.get(PAUSE_KEY)
    except Exception as exc:
        logger.warning("push pause unknown, cache unavailable: %s", type(exc).__name__)
        return 0.0
    return max(0.0, float(until) - time.time()) if until is not None else 0.0
