"""Notes and contact details are encrypted at rest, with keys that can be rotated."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from recovery.encryption import _fernet
from recovery.models import CheckIn, SupportContact
from recovery.services.checkins import checkin_submit
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 - test-only fixed names
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def keys(settings):
    def use(*values: str) -> None:
        settings.FIELD_ENCRYPTION_KEYS = list(values)
        _fernet.cache_clear()

    yield use
    _fernet.cache_clear()


def test_the_raw_tables_hold_no_plaintext(enrollment):
    ContactFactory(
        enrollment=enrollment,
        phone="+1 555 0199",
        email="sponsor@example.org",
        note="Call after 6pm",
    )
    checkin_submit(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        data={
            "mood": 2,
            "craving": 5,
            "used_substance": False,
            "device_time": timezone.now(),
            "device_timezone": "UTC",
            "note": "Argued with my brother",
        },
    )
    raw = " ".join(
        _raw("recovery_supportcontact", "phone")
        + _raw("recovery_supportcontact", "email")
        + _raw("recovery_supportcontact", "note")
        + _raw("recovery_checkin", "note")
    )
    for secret in ("555 0199", "sponsor@example.org", "after 6pm", "brother"):
        assert secret not in raw
    contact = SupportContact.objects.get()
    assert (contact.phone, contact.email) == ("+1 555 0199", "sponsor@example.org")
    assert CheckIn.objects.get().note == "Argued with my brother"


def test_keys_rotate_without_losing_data(enrollment, keys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    keys(old)
    ContactFactory(enrollment=enrollment, phone="+1 555 0123")
    before = _raw("recovery_supportcontact", "phone")

    keys(new, old)  # the new key first: it encrypts, both decrypt
    call_command("rotate_field_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = _raw("recovery_supportcontact", "phone")
    assert after != before

    keys(new)  # the old key is gone and the data still reads
    assert SupportContact.objects.get().phone == "+1 555 0123"


def test_a_value_under_an_unknown_key_fails_loudly(enrollment, keys):
    keys(Fernet.generate_key().decode())
    ContactFactory(enrollment=enrollment, phone="+1 555 0123")
    keys(Fernet.generate_key().decode())
    with pytest.raises(ValueError, match="configured keys"):
        SupportContact.objects.get()
