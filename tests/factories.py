"""factory_boy factories for the domain."""

from __future__ import annotations

from datetime import time

import factory
from django.utils import timezone

from backend.timezones import local_today
from notifications.models import Device
from recovery.models import (
    CareTeamMember,
    CheckInSchedule,
    Enrollment,
    Program,
    Role,
    SupportContact,
    TreatmentSession,
    User,
)


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    name = factory.Sequence(lambda n: f"Program {n}")
    timezone = "America/New_York"
    levels_of_care = ["1", "2.1", "2.5"]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.COUNSELOR
    program = factory.SubFactory(ProgramFactory)
    password = factory.django.Password("correct-horse-battery-staple")


class CounselorFactory(UserFactory):
    role = Role.COUNSELOR


class SupervisorFactory(UserFactory):
    role = Role.SUPERVISOR


class PatientUserFactory(UserFactory):
    role = Role.PATIENT


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment
        skip_postgeneration_save = True

    program = factory.SubFactory(ProgramFactory)
    patient = factory.SubFactory(PatientUserFactory, program=factory.SelfAttribute("..program"))
    primary_counselor = factory.SubFactory(
        CounselorFactory, program=factory.SelfAttribute("..program")
    )
    timezone = factory.SelfAttribute("program.timezone")
    # The patient's today, not Greenwich's: an evening in New York is tomorrow in UTC.
    start_date = factory.LazyAttribute(lambda o: local_today(o.timezone))

    @factory.post_generation
    def team(self, create: bool, extracted: list[User] | None, **kwargs: object) -> None:
        if not create:
            return
        CareTeamMember.objects.get_or_create(
            enrollment=self, counselor=self.primary_counselor, defaults={"is_primary": True}
        )
        for member in extracted or []:
            CareTeamMember.objects.get_or_create(enrollment=self, counselor=member)


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckInSchedule

    enrollment = factory.SubFactory(EnrollmentFactory)
    opens_at = time(17, 0)
    due_by = time(21, 0)
    days_of_week = [1, 2, 3, 4, 5, 6, 7]
    grace_minutes = 60


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportContact

    enrollment = factory.SubFactory(EnrollmentFactory)
    name = factory.Faker("name")
    relationship = "sponsor"
    phone = "+1 555 0100"
    position = factory.Sequence(lambda n: n)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentSession

    program = factory.SubFactory(ProgramFactory)
    kind = "group_therapy"
    title = "Process group"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=2))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timezone.timedelta(hours=3))


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    user = factory.SubFactory(PatientUserFactory)
    address = factory.Sequence(lambda n: f"fcm-token-{n:06d}")
    address_kind = "token"
    platform = "android"
    last_seen_at = factory.LazyFunction(timezone.now)
