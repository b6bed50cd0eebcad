"""Settings of the end-to-end server: the production settings (DEBUG off), except that
the session and CSRF cookies may travel over plain http to 127.0.0.1.

backend/settings.py turns SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE on whenever DEBUG
is off, with no environment switch, so the test server imports it and relaxes only these
two. Nothing else differs from a production process.
"""

from backend.settings import *  # noqa: F403

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
