from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "Recovery (clinical domain)"

    def ready(self) -> None:
        from recovery import (
            checks,  # noqa: F401 - registers the deploy checks
            receivers,  # noqa: F401 - connects the signal receivers
        )
        from recovery.notification_kinds import register

        register()
