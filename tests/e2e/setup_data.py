"""Data for the end-to-end run: `python -m tests.e2e.setup_data` (settings from the env).

Migrates the database named by DATABASE_URL, loads the demo program (the demo counselor
and three patients), gives the first two patients a month of history so the pages have
something to draw, puts a session in this week's calendar, and prints one JSON line with
what the test needs (the first patient's access token, ids).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()

    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from recovery.dates import enrollment_date
    from recovery.models import Enrollment, Exercise, ExerciseAssignment, User
    from recovery.services.checkins import checkin_submit
    from recovery.services.enrollment import enrollment_change
    from recovery.services.sessions import session_create
    from recovery.services.tokens import tokens_issue

    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    counselor = User.objects.get(username="demo-counselor")
    enrollments = list(
        Enrollment.objects.filter(program=counselor.program)
        .select_related("patient")
        .order_by("id")
    )
    first, second = enrollments[0], enrollments[1]
    now = timezone.now()
    for enrollment, shape in ((first, (2, 3, 5, 4, 6, 3)), (second, (5, 6, 4, 7, 5, 6))):
        # The patient's date thirty days ago, on their wall (not the UTC date).
        Enrollment.objects.filter(id=enrollment.id).update(
            start_date=enrollment_date(enrollment, now - timedelta(days=30))
        )
        enrollment.refresh_from_db()
        for day in range(27, 0, -1):
            if day % 5 == 0:
                continue  # a few missing days, as in life
            craving = shape[day % len(shape)]
            checkin_submit(
                enrollment=enrollment,
                client_id=uuid.uuid4(),
                data={
                    "mood": max(1, min(5, 5 - craving // 2)),
                    "craving": craving,
                    "used_substance": False,
                    "device_time": now - timedelta(days=day, hours=2),
                    "device_timezone": enrollment.timezone,
                },
            )
    exercise = Exercise.objects.filter(program__isnull=True).order_by("id").first()
    if exercise is not None:
        ExerciseAssignment.objects.get_or_create(
            enrollment=first,
            exercise=exercise,
            defaults={"assigned_by": counselor, "note": "Practice daily before group."},
        )
    enrollment_change(
        enrollment=first, actor=counselor, stage="early_recovery", reason="Engaged in groups"
    )
    # The start of this hour: always today in the program's zone, so always in this
    # week's calendar, even just after midnight on a Monday.
    starts = now.replace(minute=0, second=0, microsecond=0)
    session = session_create(
        program_id=counselor.program_id,
        kind="skills_training",
        title="Coping skills group",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        location="Room 1",
        facilitator=counselor,
        patients=enrollments,
    )
    token = RefreshToken.for_user(first.patient).access_token
    print(
        json.dumps(
            {
                "patient_token": str(token),
                "enrollment_id": first.id,
                "patient_name": f"{first.patient.first_name} {first.patient.last_name}",
                "session_id": session.id,
                # tests/e2e/test_messages.py writes as the second patient, so the first
                # one's page and flags stay as the other tests expect; a refresh token, as
                # the suite may outlast an access token.
                "second_enrollment_id": second.id,
                "second_patient_name": f"{second.patient.first_name} {second.patient.last_name}",
                "second_patient_refresh": tokens_issue(user=second.patient)["refresh"],
            }
        )
    )


if __name__ == "__main__":
    main()
