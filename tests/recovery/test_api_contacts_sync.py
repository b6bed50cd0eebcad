"""Syncing support contacts: `updated_since` returns the contacts added or changed since,
and the first page's `deleted` the ids deleted since; a deleted contact is gone for every
other reader, its phone and email with it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from backend.api import SYNC_OVERLAP
from recovery.models import Enrollment, SupportContact, SupportContactDeletion, User
from tests.conftest import client_for
from tests.factories import ContactFactory, EnrollmentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


@contextmanager
def at(instant: datetime) -> Iterator[None]:
    with time_machine.travel(instant, tick=False):
        yield


def sync(user: User, since: str | None = None, **params: Any) -> dict[str, Any]:
    query = {**params, **({"updated_since": since} if since else {})}
    response = client_for(user).get("/api/v1/contacts/", query)
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()
    return result


def test_a_sync_returns_what_changed_and_the_ids_deleted(enrollment: Enrollment) -> None:
    start = timezone.now()
    with at(start):
        kept, changed, deleted = (
            ContactFactory(enrollment=enrollment, name=name, position=i)
            for i, name in enumerate(("Kept", "Changed", "Deleted"))
        )
    with at(start + timedelta(minutes=10)):
        first = sync(enrollment.patient)
    assert [c["name"] for c in first["results"]] == ["Kept", "Changed", "Deleted"]
    assert first["deleted"] == []
    assert datetime.fromisoformat(first["synced_at"]) == start + timedelta(minutes=10) - (
        SYNC_OVERLAP
    )

    with at(start + timedelta(hours=1)):
        patient = client_for(enrollment.patient)
        patient.patch(f"/api/v1/contacts/{changed.id}/", {"note": "call first"}, format="json")
        assert patient.delete(f"/api/v1/contacts/{deleted.id}/").status_code == 204
        added = patient.post(
            "/api/v1/contacts/",
            {"name": "New", "relationship": "peer", "phone": "555-0199"},
            format="json",
        ).json()
    with at(start + timedelta(hours=2)):
        second = sync(enrollment.patient, first["synced_at"])
    assert [c["id"] for c in second["results"]] == [changed.id, added["id"]]
    assert second["results"][0]["note"] == "call first"
    assert second["deleted"] == [deleted.id]
    assert kept.id not in {c["id"] for c in second["results"]}
    # Nothing since: nothing comes, no deletion again.
    with at(start + timedelta(hours=3)):
        third = sync(enrollment.patient, second["synced_at"])
    assert (third["results"], third["deleted"]) == ([], [])


def test_a_deleted_contact_is_gone_for_every_reader_and_keeps_no_details(
    enrollment: Enrollment, counselor: User
) -> None:
    contact = ContactFactory(enrollment=enrollment, name="Robin", phone="555-0100")
    ContactFactory(enrollment=enrollment, name="Sam")
    patient = client_for(enrollment.patient)
    assert patient.delete(f"/api/v1/contacts/{contact.id}/").status_code == 204

    assert not SupportContact.objects.filter(id=contact.id).exists()
    tombstone = SupportContactDeletion.objects.get()
    assert (tombstone.enrollment_id, tombstone.contact_id) == (enrollment.id, contact.id)
    listed = patient.get("/api/v1/contacts/").json()
    assert [c["name"] for c in listed["results"]] == ["Sam"]
    assert listed["deleted"] == []  # a full list is the whole truth: no deletions in it
    support = patient.get("/api/v1/me/support/").json()
    assert [c["name"] for c in support["support_contacts"]] == ["Sam"]
    assert patient.get(f"/api/v1/contacts/{contact.id}/").status_code == 404
    staff = client_for(counselor).get("/api/v1/contacts/", {"patient": enrollment.id}).json()
    assert [c["name"] for c in staff["results"]] == ["Sam"]


def test_reordering_hands_every_moved_contact_over(enrollment: Enrollment) -> None:
    start = timezone.now()
    with at(start):
        a, b = (ContactFactory(enrollment=enrollment, name=n) for n in ("A", "B"))
    with at(start + timedelta(minutes=10)):
        first = sync(enrollment.patient)
    with at(start + timedelta(hours=1)):
        client_for(enrollment.patient).post(
            "/api/v1/contacts/reorder/", {"ids": [b.id, a.id]}, format="json"
        )
    with at(start + timedelta(hours=2)):
        second = sync(enrollment.patient, first["synced_at"])
    assert [(c["name"], c["position"]) for c in second["results"]] == [("B", 0), ("A", 1)]


def test_a_deletion_just_before_a_sync_comes_again_in_the_next(enrollment: Enrollment) -> None:
    start = timezone.now()
    contact = ContactFactory(enrollment=enrollment)
    with at(start + timedelta(minutes=59)):
        # Stamped a minute before the read; its transaction may commit after it.
        client_for(enrollment.patient).delete(f"/api/v1/contacts/{contact.id}/")
    with at(start + timedelta(hours=1)):
        first = sync(enrollment.patient, (start - timedelta(hours=1)).isoformat())
    with at(start + timedelta(hours=2)):
        second = sync(enrollment.patient, first["synced_at"])
    assert first["deleted"] == [contact.id]
    assert second["deleted"] == [contact.id]  # the app dedupes: some twice, none never


def test_deletions_come_on_the_first_page_with_the_cursor_beside_the_links(
    enrollment: Enrollment,
) -> None:
    start = timezone.now()
    gone = ContactFactory(enrollment=enrollment)
    with at(start + timedelta(hours=1)):
        ContactFactory.create_batch(3, enrollment=enrollment)
        client_for(enrollment.patient).delete(f"/api/v1/contacts/{gone.id}/")
    since = (start + timedelta(minutes=30)).isoformat()
    with at(start + timedelta(hours=2)):
        first = sync(enrollment.patient, since, page_size=2)
        second = sync(enrollment.patient, since, page_size=2, page=first["next_page"])
    assert first["deleted"] == [gone.id]
    assert second["deleted"] == []
    assert first["next_page"] == 2
    assert "updated_since=" in first["next"]
    assert len(first["results"]) + len(second["results"]) == 3
    assert second["next_page"] is None


def test_another_patients_contacts_and_deletions_never_come(
    enrollment: Enrollment, counselor: User
) -> None:
    other = EnrollmentFactory(program=enrollment.program, primary_counselor=counselor)
    start = timezone.now()
    theirs = ContactFactory(enrollment=other, name="Theirs")
    with at(start + timedelta(hours=1)):
        client_for(other.patient).delete(f"/api/v1/contacts/{theirs.id}/")
        ContactFactory(enrollment=other, name="Their new one")
        ContactFactory(enrollment=enrollment, name="Mine")
    since = (start + timedelta(minutes=30)).isoformat()
    with at(start + timedelta(hours=2)):
        mine = sync(enrollment.patient, since)
        # Their counselor, asking about this patient only; a stranger program's supervisor.
        narrowed = sync(counselor, since, patient=enrollment.id)
        everyone = sync(counselor, since)
        stranger = sync(SupervisorFactory(), since)
    assert [c["name"] for c in mine["results"]] == ["Mine"]
    assert mine["deleted"] == []
    assert [c["name"] for c in narrowed["results"]] == ["Mine"]
    assert narrowed["deleted"] == []
    assert everyone["deleted"] == [theirs.id]
    assert (stranger["results"], stranger["deleted"]) == ([], [])


def test_a_bad_updated_since_is_a_field_error(enrollment: Enrollment) -> None:
    response = client_for(enrollment.patient).get("/api/v1/contacts/", {"updated_since": "now"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"updated_since"}


def test_the_schema_documents_the_sync_fields() -> None:
    schema = client_for(SupervisorFactory()).get("/api/schema/?format=json").json()
    page = schema["components"]["schemas"]["PaginatedContactList"]
    assert {"synced_at", "deleted", "next_page"} <= set(page["required"])
    assert page["properties"]["deleted"]["items"] == {"type": "integer"}
    parameters = schema["paths"]["/api/v1/contacts/"]["get"]["parameters"]
    assert any(p["name"] == "updated_since" for p in parameters)
    sessions = schema["paths"]["/api/v1/sessions/"]["get"]["parameters"]
    assert any(p["name"] == "updated_since" for p in sessions)
