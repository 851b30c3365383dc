"""Default sync schedules, as rows staff can edit in the admin (django-celery-beat)."""

import json

from django.db import migrations


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_5_min, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    every_15_min, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    nightly, _ = CrontabSchedule.objects.get_or_create(minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(
        name="Roaming: incremental pull of locations and tariffs",
        defaults={"task": "roaming.tasks.sync_all_partners", "interval": every_5_min, "kwargs": json.dumps({"full": False})},
    )
    PeriodicTask.objects.get_or_create(
        name="Roaming: full pull of locations and tariffs (nightly)",
        defaults={"task": "roaming.tasks.sync_all_partners", "crontab": nightly, "kwargs": json.dumps({"full": True})},
    )
    PeriodicTask.objects.get_or_create(
        name="Roaming: partner health check",
        defaults={"task": "roaming.tasks.check_all_partners", "interval": every_15_min},
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__startswith="Roaming: ").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("roaming", "0002_network"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
