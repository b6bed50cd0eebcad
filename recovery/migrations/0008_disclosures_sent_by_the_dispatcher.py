# Disclosures are sent by the one dispatcher (notifications/) as email-channel rows; the
# separate outbox's attempt counter goes, and disclosures still queued get their row.

from django.db import migrations
from django.utils import timezone


def queue_pending_disclosures(apps, schema_editor):
    Disclosure = apps.get_model("recovery", "Disclosure")
    Notification = apps.get_model("notifications", "Notification")
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=None,
                channel="email",
                kind="disclosure",
                dedupe_key=f"disclosure:{disclosure_id}",
                title="",
                body="",
                payload={"disclosure_id": disclosure_id},
                due_at=now,
                created_at=now,
            )
            for disclosure_id in Disclosure.objects.filter(state="queued").values_list(
                "id", flat=True
            )
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0007_program_require_staff_2fa"),
        ("notifications", "0006_email_channel_without_app_recipient"),
    ]

    operations = [
        migrations.RunPython(queue_pending_disclosures, migrations.RunPython.noop),
        migrations.RemoveField(model_name="disclosure", name="attempts"),
    ]
