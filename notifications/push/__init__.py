"""Push backends, chosen by the PUSH_BACKEND setting as Django chooses email backends."""

from __future__ import annotations

import sys
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.push.base import Outcome, PushBackend, PushMessage, PushResult

BACKENDS = {
    "console": "notifications.push.console.ConsolePushBackend",
    "memory": "notifications.push.memory.MemoryPushBackend",
    "fcm": "notifications.push.fcm.FCMPushBackend",
}


@cache
def _backend_for(name: str) -> PushBackend:
    path = BACKENDS.get(name, name)
    backend: PushBackend = import_string(path)()
    return backend


def get_push_backend() -> PushBackend:
    return _backend_for(settings.PUSH_BACKEND)


def reset_push_backends() -> None:
    """Forget built backends (tests that change PUSH_BACKEND or FCM settings call this)."""
    if _backend_for.cache_info().currsize and "notifications.push.fcm" in sys.modules:
        from notifications.push.fcm import close_fcm

        close_fcm()
    _backend_for.cache_clear()


__all__ = ["Outcome", "PushBackend", "PushMessage", "PushResult", "get_push_backend"]
