"""Ending an account's dashboard sessions. Django's ModelBackend only ignores the sessions
of an inactive account; they would come back with a reactivation (a session left open on a
shared workstation, a stolen cookie). So deactivation deletes them."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.utils import timezone


def dashboard_sessions_end(*, user_id: int) -> int:
    """Delete the unexpired sessions signed in as `user_id` (database-backed session
    engines: db, cached_db); how many there were."""
    engine = import_module(settings.SESSION_ENGINE)
    store_class = engine.SessionStore
    get_model_class = getattr(store_class, "get_model_class", None)
    if get_model_class is None:  # a cookie/cache engine: nothing server-side to list
        return 0
    model = get_model_class()
    ended = [
        session.session_key
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get(SESSION_KEY)) == str(user_id)
    ]
    for key in ended:
        # Through the store, so a cached_db engine forgets its cached copy too.
        store_class(session_key=key).delete()
    return len(ended)
