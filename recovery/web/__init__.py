"""The counselor dashboard in the browser: server-rendered pages under /dashboard/.

Views are thin: reads come from `recovery.selectors` (and `recovery.web.selectors` for
the few page-shaped reads the API does not need), writes from `recovery.services`.
"""
