"""`python manage.py serve`: the whole embedded system in one process (`make run`).

HTTP and websockets through uvicorn, and, when SCHEDULER_MODE is "inprocess", the
periodic jobs on a background scheduler in the same process.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from django.conf import settings
from django.core.management.base import BaseCommand

from backend.scheduler import JOB_DEFAULTS, add_jobs


class Command(BaseCommand):
    help = "Serve HTTP and websockets; run the scheduler in-process on the embedded default."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = None
        if settings.SCHEDULER_MODE == "inprocess":
            scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
            add_jobs(scheduler, mode="inprocess")
            scheduler.start()
        host, port = options["host"], options["port"]
        self.stdout.write(
            f"Serving on http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs/, "
            f"admin: http://{host}:{port}/admin/)\n"
            "Demo logins: counselor 'demo-counselor' / supervisor 'demo-supervisor', "
            "password 'demo-password-2026'; patients sign in with an enrollment code "
            "(load_demo prints one)."
        )
        try:
            # proxy_headers off: uvicorn would take X-Forwarded-For from any local client;
            # the client's address is TRUSTED_PROXY_COUNT's rule (backend/client_ip.py).
            uvicorn.run(
                "backend.asgi:application",
                host=host,
                port=port,
                log_level="info",
                proxy_headers=False,
            )
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
