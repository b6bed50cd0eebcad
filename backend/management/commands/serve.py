"""`python manage.py serve`: the whole embedded system in one process (`make run`).

HTTP and websockets through uvicorn, and, when SCHEDULER_MODE is "inprocess", the
periodic jobs in the same process, on uvicorn's own event loop: the in-memory channel
layer's queues belong to that loop, and a job's websocket sends must reach them there.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from django.conf import settings
from django.core.management.base import BaseCommand

from backend.scheduler import JOB_DEFAULTS, ServerLoopScheduler, add_jobs


class Command(BaseCommand):
    help = "Serve HTTP and websockets; run the scheduler in-process on the embedded default."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        from backend.asgi import application

        app: Any = application
        if settings.SCHEDULER_MODE == "inprocess":
            scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
            add_jobs(scheduler, mode="inprocess")
            app = ServerLoopScheduler(application, scheduler)
        host, port = options["host"], options["port"]
        self.stdout.write(
            f"Serving on http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs/, "
            f"admin: http://{host}:{port}/admin/)\n"
            "Demo logins: counselor 'demo-counselor' / supervisor 'demo-supervisor', "
            "password 'demo-password-2026'; patients sign in with an enrollment code "
            "(load_demo prints one)."
        )
        # proxy_headers off: uvicorn would take X-Forwarded-For from any local client;
        # the client's address is TRUSTED_PROXY_COUNT's rule (backend/client_ip.py).
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
