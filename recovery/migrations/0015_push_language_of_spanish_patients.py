"""Patients whose language was set before pushes followed it: their push language too
(recovery.services.enrollment.patient_language_set keeps the two together from now on)."""

from typing import Any

from django.db import migrations


def copy_language(apps: Any, schema_editor: Any) -> None:
    Enrollment = apps.get_model("recovery", "Enrollment")
    NotificationPreference = apps.get_model("notifications", "NotificationPreference")
    for patient_id, language in Enrollment.objects.exclude(language="en").values_list(
        "patient_id", "language"
    ):
        NotificationPreference.objects.update_or_create(
            user_id=patient_id, defaults={"language": language}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0014_program_incentive_streak_days"),
        ("notifications", "0008_notificationpreference_language"),
    ]

    operations = [migrations.RunPython(copy_language, migrations.RunPython.noop)]
