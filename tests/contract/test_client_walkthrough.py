"""A mobile app's day through the generated client only (`make client-check`).

tests/contract/generate_client.py generates `iop_client` from the served schema; this
walkthrough drives the real WSGI application through it (httpx's WSGI transport): redeem
an enrollment code, check in, replay, conflict, press the urge button, sync notifications
with `updated_since` and page numbers, mark one read, sync support contacts with a
deletion, outlive the access token and refresh, and meet `upgrade_required`. Every answer
must parse into the documented model, and any field the walkthrough touches that the schema
leaves untyped fails it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import time_machine
from django.utils import timezone

from backend.wsgi import application
from notifications.dispatch import dispatch_due
from recovery.services.enrollment import enrollment_code_issue
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.client_check

CLIENT_DIR = Path(os.environ.get("IOP_CLIENT_DIR", ".client")).resolve()
APP = {"X-App-Platform": "ios", "X-App-Version": "1.4.2"}
BASE_URL = "https://localhost"  # https: as deployed (SECURE_SSL_REDIRECT), a host allowed


def _client_package() -> Any:
    if not (CLIENT_DIR / "iop_client").is_dir():
        pytest.skip(f"no generated client in {CLIENT_DIR}: run `make client-check`")
    sys.path.insert(0, str(CLIENT_DIR))
    return importlib.import_module("iop_client")


def untyped(value: Any, where: str = "") -> list[str]:
    """Where a parsed answer holds data the schema did not type: a plain dict, or keys a
    model only caught in its catch-all `additional_properties`."""
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in untyped(item, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [where or "<root>"]
    if not attrs.has(type(value)):
        return []
    found: list[str] = []
    for field in attrs.fields(type(value)):
        item = getattr(value, field.name)
        if field.name == "additional_properties":
            annotation = str(type(value).__annotations__.get(field.name, ""))
            if "Any" in annotation:  # a catch-all, not a typed map
                found += [f"{where}.{key}" for key in item]
            else:
                found += [p for k, v in item.items() for p in untyped(v, f"{where}.{k}")]
        else:
            found += untyped(item, f"{where}.{field.name}")
    return found


def parsed(response: Any, status: int, model: type) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert isinstance(response.parsed, model), type(response.parsed)
    assert untyped(response.parsed) == [], f"untyped fields: {untyped(response.parsed)}"
    assert response.headers.get("API-Version")
    return response.parsed


@pytest.mark.django_db(transaction=True)
def test_a_patients_day_through_the_generated_client(settings: Any) -> None:
    iop = _client_package()
    api = importlib.import_module("iop_client.api")  # noqa: F841 - the package must import
    from iop_client.api.auth import auth_enrollment_code_create, auth_token_refresh_create
    from iop_client.api.checkins import checkins_create
    from iop_client.api.contacts import contacts_create, contacts_destroy, contacts_list
    from iop_client.api.me import me_retrieve
    from iop_client.api.notifications import notifications_list, notifications_read_create
    from iop_client.api.urges import urges_create
    from iop_client.models import (
        CheckInRequest,
        CheckInResponse,
        Contact,
        ContactRequest,
        CrisisResourcesNotification,
        Error,
        Me,
        PaginatedContactList,
        PaginatedNotificationList,
        PatientTokens,
        ReasonEnum,
        RedeemRequest,
        RelationshipEnum,
        RoleEnum,
        TokenPair,
        TokenRefreshRequest,
        UrgeRequest,
        UrgeResponse,
    )

    transport = httpx.WSGITransport(app=application)

    def anonymous() -> Any:
        return iop.Client(base_url=BASE_URL, headers=APP, httpx_args={"transport": transport})

    def signed_in(access: str) -> Any:
        return iop.AuthenticatedClient(
            base_url=BASE_URL, token=access, headers=APP, httpx_args={"transport": transport}
        )

    # Onboarding: the counselor gives a code (the dashboard's job), the app redeems it.
    enrollment = EnrollmentFactory()
    code, _ = enrollment_code_issue(enrollment=enrollment, issued_by=None)
    tokens = parsed(
        auth_enrollment_code_create.sync_detailed(
            client=anonymous(), body=RedeemRequest(code=code)
        ),
        201,
        PatientTokens,
    )
    app = signed_in(tokens.access)
    me = parsed(me_retrieve.sync_detailed(client=app), 200, Me)
    assert me.role == RoleEnum.PATIENT
    assert me.patient == enrollment.id

    # A check-in with the app's own UUID, sent again (a retry), then reused wrongly.
    started = timezone.now()
    checkin = CheckInRequest(
        id=uuid.uuid4(),
        mood=2,
        craving=3,
        used_substance=False,
        device_time=started,
        device_timezone="America/New_York",
        hours_slept=6.5,
        self_harm_thoughts=True,  # the crisis path: resources now, a notification too
    )
    first = parsed(checkins_create.sync_detailed(client=app, body=checkin), 201, CheckInResponse)
    assert first.hours_slept == 6.5
    assert first.crisis_resources
    replay = checkins_create.sync_detailed(client=app, body=checkin)
    assert parsed(replay, 201, CheckInResponse).id == checkin.id
    assert replay.headers.get("Idempotent-Replayed") == "true"
    checkin.mood = 5
    conflict = parsed(checkins_create.sync_detailed(client=app, body=checkin), 422, Error)
    assert conflict.error.code

    # The urge button always offers something to do, even to a brand-new patient.
    urge = parsed(
        urges_create.sync_detailed(client=app, body=UrgeRequest(intensity=8)), 201, UrgeResponse
    )
    assert urge.exercises
    assert {card.reason for card in urge.exercises} == {ReasonEnum.FIRST_LINE}
    assert all(card.steps for card in urge.exercises)

    # Notifications: the server sends (its scheduler's job), the app syncs page by page.
    dispatch_due()
    synced: list[Any] = []
    page: int | None = 1
    since = started - dt.timedelta(minutes=1)
    while page is not None:
        listed = parsed(
            notifications_list.sync_detailed(
                client=app, updated_since=since, page=page, page_size=1
            ),
            200,
            PaginatedNotificationList,
        )
        synced += listed.results
        page = listed.next_page
    crisis = [n for n in synced if isinstance(n, CrisisResourcesNotification)]
    assert len(crisis) == 1
    assert crisis[0].payload.crisis_resources[0].phone
    synced_at = listed.synced_at

    # Read on the phone; the next sync brings exactly that change.
    read = notifications_read_create.sync_detailed(client=app, id=crisis[0].id)
    assert read.status_code == 200
    again = parsed(
        notifications_list.sync_detailed(client=app, updated_since=synced_at),
        200,
        PaginatedNotificationList,
    )
    assert [n.id for n in again.results] == [crisis[0].id]
    assert again.results[0].read_at is not None

    # Support contacts: the app keeps a copy; a contact deleted (here, or on another
    # device) comes in the next sync as an id in `deleted`, never as a row.
    sponsor, mum = (
        parsed(
            contacts_create.sync_detailed(
                client=app,
                body=ContactRequest(name=name, relationship=relationship, phone="+1 555 0101"),
            ),
            201,
            Contact,
        )
        for name, relationship in (
            ("Sam", RelationshipEnum.SPONSOR),
            ("Mum", RelationshipEnum.FAMILY),
        )
    )
    copy = parsed(contacts_list.sync_detailed(client=app), 200, PaginatedContactList)
    assert [c.id for c in copy.results] == [sponsor.id, mum.id]
    assert copy.deleted == []
    assert contacts_destroy.sync_detailed(client=app, id=sponsor.id).status_code == 204
    changes = parsed(
        contacts_list.sync_detailed(client=app, updated_since=copy.synced_at),
        200,
        PaginatedContactList,
    )
    assert changes.deleted == [sponsor.id]
    # Mum may come again (the sync's overlap): the app dedupes by id.
    assert {c.id for c in changes.results} <= {mum.id}
    kept = {c.id: c for c in copy.results if c.id not in changes.deleted}
    kept |= {c.id: c for c in changes.results}
    assert [c.name for c in kept.values()] == ["Mum"]

    # The access token runs out: 401 token_expired, refresh, carry on.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16), tick=True):
        expired = parsed(me_retrieve.sync_detailed(client=app), 401, Error)
        assert expired.error.code == "token_expired"
        fresh = parsed(
            auth_token_refresh_create.sync_detailed(
                client=anonymous(), body=TokenRefreshRequest(refresh=tokens.refresh)
            ),
            200,
            TokenPair,
        )
        parsed(me_retrieve.sync_detailed(client=signed_in(fresh.access)), 200, Me)

        # The deployment stops supporting this app version.
        settings.MIN_APP_VERSIONS = {"ios": "2.0.0"}
        upgrade = me_retrieve.sync_detailed(client=signed_in(fresh.access))
        assert parsed(upgrade, 426, Error).error.code == "upgrade_required"
        assert upgrade.headers.get("X-Min-App-Version") == "2.0.0"
