"""`python manage.py load_demo`: a demo program to click through. Safe to run twice."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from recovery.dates import program_today
from recovery.models import Enrollment, Program, Role, User
from recovery.services.enrollment import enrollment_code_issue, patient_enroll
from recovery.services.series import series_create

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - documented demo credential, local only


class Command(BaseCommand):
    help = "Load the demo program (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        program, _ = Program.objects.get_or_create(
            name="Demo Recovery IOP",
            defaults={
                "timezone": "America/New_York",
                "levels_of_care": ["1", "2.1", "2.5"],
                "required_hours_per_week": 9,
                "days_per_week": 3,
            },
        )
        staff = {}
        for username, role, first in (
            ("demo-counselor", Role.COUNSELOR, "Casey"),
            ("demo-supervisor", Role.SUPERVISOR, "Sam"),
        ):
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"role": role, "program": program, "first_name": first, "is_staff": True},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            staff[role] = user
        counselor = staff[Role.COUNSELOR]
        if not Enrollment.objects.filter(program=program).exists():
            patients = []
            for first, last in (("Alex", "Rivera"), ("Jordan", "Lee"), ("Taylor", "Kim")):
                enrollment, _, _ = patient_enroll(
                    counselor=counselor, first_name=first, last_name=last
                )
                patients.append(enrollment)
            series_create(
                program_id=program.id,
                kind="group_therapy",
                title="Evening process group",
                rule="FREQ=WEEKLY;BYDAY=MO,WE,TH;COUNT=36",
                start_date=program_today(program) + timedelta(days=1),
                start_time=time(18, 0),
                duration_minutes=180,
                timezone_name=program.timezone,
                location="Room 2",
                facilitator=counselor,
                patients=patients,
            )
        first_patient = Enrollment.objects.filter(program=program).order_by("id").first()
        assert first_patient is not None
        code, expires_at = enrollment_code_issue(enrollment=first_patient, issued_by=counselor)
        self.stdout.write(
            "Demo program ready.\n"
            f"  Staff login: demo-counselor / {DEMO_PASSWORD} (also demo-supervisor)\n"
            f"  Patient enrollment code for {first_patient.patient.first_name}: {code} "
            f"(valid until {expires_at:%Y-%m-%d %H:%M} UTC; POST /api/v1/auth/enrollment-code/)"
        )
