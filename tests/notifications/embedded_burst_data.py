"""Data for the embedded-default burst test, run as a separate process against the SQLite
file the server uses (settings from the environment):

    python -m tests.notifications.embedded_burst_data setup N   # migrate, N patients
    python -m tests.notifications.embedded_burst_data due       # every window missed now

`setup` creates one program with a counselor (on every patient's care team) and a
supervisor, and N patients whose check-in windows close tomorrow; it prints one JSON line
with both staff members' access tokens. `due` moves every patient's deadline into the
past, so the server's next in-process sweep raises N flags at once.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import time, timedelta

import django


def setup(patients: int) -> None:
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from backend.timezones import local_today
    from recovery.models import CheckInSchedule, Role, User
    from tests.factories import (
        CounselorFactory,
        EnrollmentFactory,
        ProgramFactory,
        SupervisorFactory,
    )

    call_command("migrate", verbosity=0, interactive=False)
    with transaction.atomic():
        program = ProgramFactory()
        counselor = CounselorFactory(program=program)
        supervisor = SupervisorFactory(program=program)
        # Unusable passwords: hashing one per patient would take a minute.
        users = User.objects.bulk_create(
            User(username=f"burst-patient-{i}", role=Role.PATIENT, program=program, password="!")
            for i in range(patients)
        )
        tomorrow = timezone.now() + timedelta(days=1)
        for user in users:
            enrollment = EnrollmentFactory(
                program=program, patient=user, primary_counselor=counselor
            )
            CheckInSchedule.objects.create(
                enrollment=enrollment,
                opens_at=time(17, 0),
                due_by=time(21, 0),
                days_of_week=[1, 2, 3, 4, 5, 6, 7],
                next_due_at=tomorrow,
                next_window_date=local_today(enrollment.timezone),
            )
    print(
        json.dumps(
            {
                "counselor_token": str(RefreshToken.for_user(counselor).access_token),
                "supervisor_token": str(RefreshToken.for_user(supervisor).access_token),
            }
        )
    )


def due() -> None:
    from django.utils import timezone

    from recovery.models import CheckInSchedule

    CheckInSchedule.objects.update(next_due_at=timezone.now() - timedelta(minutes=1))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    if sys.argv[1] == "setup":
        setup(int(sys.argv[2]))
    else:
        due()


if __name__ == "__main__":
    main()
