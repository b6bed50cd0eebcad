from django.db import migrations, models
from django.db.models import Max


def note_streak_lengths(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Programs that already run a check-in streak protocol get its length."""
    Program = apps.get_model("recovery", "Program")
    IncentiveProtocol = apps.get_model("recovery", "IncentiveProtocol")
    longest = (
        IncentiveProtocol.objects.filter(behaviour="checkin_streak", active=True)
        .values("program_id")
        .annotate(longest=Max("streak_days"))
    )
    for row in longest:
        Program.objects.filter(pk=row["program_id"]).update(incentive_streak_days=row["longest"])


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0013_merge_retention_messages_milestones"),
    ]

    operations = [
        migrations.AddField(
            model_name="program",
            name="incentive_streak_days",
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(note_streak_lengths, migrations.RunPython.noop),
    ]
