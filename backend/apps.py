from django.apps import AppConfig


class BackendConfig(AppConfig):
    name = "backend"
    verbose_name = "Project"

    def ready(self) -> None:
        from backend import openapi  # noqa: F401 - registers the schema extensions
        from backend.logs import configure_structlog

        configure_structlog()
