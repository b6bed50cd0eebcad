from django.db import migrations


def seed(apps, schema_editor):
    from recovery.exercise_library import LIBRARY

    Exercise = apps.get_model("recovery", "Exercise")
    for item in LIBRARY:
        Exercise.objects.update_or_create(program=None, slug=item["slug"], defaults=item)


def unseed(apps, schema_editor):
    from recovery.exercise_library import LIBRARY

    Exercise = apps.get_model("recovery", "Exercise")
    Exercise.objects.filter(program=None, slug__in=[i["slug"] for i in LIBRARY]).delete()


class Migration(migrations.Migration):
    dependencies = [("recovery", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
