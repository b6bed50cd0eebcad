"""Twelve weeks of contingency management through the API, with time travel.

Monday 1 June 2026, New York. A patient in an IOP for cocaine use: urine screens every
Monday, Wednesday and Friday, group sessions every Tuesday and Thursday evening. Four
weeks of usual care, then on Monday 29 June the supervisor starts two protocols:
escalating vouchers for cocaine-negative screens ($3.00, +$1.50, at most $15.00, the third
negative after a reset returns to the value lost) and prize draws for attendance (1, 2,
then 3 draws for sessions attended in a row). A positive on Wednesday 15 July resets the
vouchers; the lab overturns Wednesday 29 July's negative on Thursday 30 July, which
reverses its $15.00. The counselor hands over a bus pass (week 8) and two grocery
vouchers (week 12).

What must hold: each week's vouchers are what the worked schedule says; every draw is
recorded; the ledger, the patient's balance, the staff view and the supervisor's report
agree to the cent; the report compares the weeks since CM began with as many before.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from notifications.models import Notification
from recovery.models import Enrollment, TreatmentSession
from recovery.notification_kinds import NotificationKind
from tests.conftest import client_for
from tests.factories import EnrollmentFactory, ProgramFactory, SessionFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

START = date(2026, 6, 1)  # a Monday; New York is on daylight time all along
CM_WEEK = 4  # the fifth week: Monday 29 June
N, P = "negative", "positive"
SCREENS = [  # Monday, Wednesday, Friday of each week
    (P, P, N),
    (P, N, P),
    (N, P, N),
    (N, N, P),
    (N, N, N),
    (N, N, N),
    (N, P, N),
    (N, N, N),
    (N, N, N),  # Wednesday's negative is overturned on Thursday
    (N, N, N),
    (N, N, N),
    (N, N, N),
]
A, PR = "absent", "present"
SESSIONS = [  # Tuesday, Thursday
    (A, PR),
    (PR, A),
    (PR, PR),
    (A, PR),
    (PR, PR),
    (PR, PR),
    (PR, PR),
    (PR, PR),
    (PR, PR),
    (A, PR),
    (PR, PR),
    (PR, PR),
]
CORRECTED = (8, 1)  # week 9, Wednesday
VOUCHERS_BY_WEEK = [1350, 2700, 1500, 3300, 1800, 3450, 4500, 4500]  # weeks 5 to 12, net
DRAWS = 39
ITEMS = {"Bus pass": 2500, "Grocery voucher": 1000}
VOUCHER_PROTOCOL = {
    "name": "Cocaine-negative vouchers",
    "behaviour": "negative_screen",
    "substance": "cocaine",
    "schedule": "escalating",
    "start": 300,
    "step": 150,
    "maximum": 1500,
    "return_after": 3,
}
PRIZE_PROTOCOL = {
    "name": "Group attendance prizes",
    "behaviour": "session_attendance",
    "schedule": "prize",
    "start": 1,
    "step": 1,
    "maximum": 3,
    "bowl": [
        {"label": "Good job", "share": 1, "value_cents": 0},
        {"label": "Small prize", "share": 1, "value_cents": 100},
    ],
}


def at(day: int, hour: int) -> datetime:
    moment = START + timedelta(days=day)
    return datetime(moment.year, moment.month, moment.day, hour, 0, tzinfo=UTC)


def ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.content
    return response.json()


def test_twelve_weeks_of_contingency_management_agree_to_the_cent(time_machine: Any) -> None:
    def go(day: int, hour: int) -> None:
        time_machine.move_to(at(day, hour), tick=False)

    go(0, 13)
    program = ProgramFactory(timezone="America/New_York")
    enrollment: Enrollment = EnrollmentFactory(program=program, start_date=START)
    counselor, patient = enrollment.primary_counselor, enrollment.patient
    supervisor = SupervisorFactory(program=program)
    ok(
        client_for(supervisor).put(
            "/api/v1/incentives/settings/",
            {"patient_year_cap_cents": 75_000, "year_budget_cents": 500_000},
            format="json",
        )
    )
    items = {
        name: ok(
            client_for(supervisor).post(
                "/api/v1/incentives/catalogue/",
                {"name": name, "value_cents": value},
                format="json",
            ),
            201,
        )["id"]
        for name, value in ITEMS.items()
    }
    sessions: dict[int, TreatmentSession] = {}
    for week in range(12):
        for offset in (1, 3):
            day = week * 7 + offset
            session = SessionFactory(
                program=program,
                starts_at=at(day, 22),  # 18:00 in New York
                ends_at=at(day + 1, 1),
                facilitator=counselor,
            )
            session.patients.add(enrollment)
            sessions[day] = session

    screen_ids: dict[tuple[int, int], int] = {}

    def start_protocols() -> None:
        staff = client_for(supervisor)
        for body in (VOUCHER_PROTOCOL, PRIZE_PROTOCOL):
            ok(staff.post("/api/v1/incentive-protocols/", body, format="json"), 201)

    def screen(week: int, slot: int, day: int) -> None:
        recorded = ok(
            client_for(counselor).post(
                "/api/v1/screens/",
                {
                    "patient": enrollment.id,
                    "collected_on": (START + timedelta(days=day)).isoformat(),
                    "method": "urine",
                    "observed": True,
                    "results": [{"substance": "cocaine", "result": SCREENS[week][slot]}],
                },
                format="json",
            ),
            201,
        )
        screen_ids[(week, slot)] = recorded["id"]

    def attend(week: int, slot: int, day: int) -> None:
        ok(
            client_for(counselor).post(
                f"/api/v1/sessions/{sessions[day].id}/attendance/",
                {"patient": enrollment.id, "status": SESSIONS[week][slot]},
                format="json",
            ),
            201,
        )

    def redeem(name: str) -> None:
        ok(
            client_for(counselor).post(
                f"/api/v1/patients/{enrollment.id}/redemptions/",
                {"item": items[name]},
                format="json",
            ),
            201,
        )

    def correct() -> None:
        corrected = ok(
            client_for(counselor).post(
                f"/api/v1/screens/{screen_ids[CORRECTED]}/correct/",
                {"observed": True, "results": [{"substance": "cocaine", "result": "positive"}]},
                format="json",
            )
        )
        assert corrected["outcome"] == "positive"

    # (day, UTC hour, what happens), in the order it happens.
    events: list[tuple[int, int, Any]] = [(CM_WEEK * 7, 12, start_protocols)]
    for week in range(12):
        for slot, offset in enumerate((0, 2, 4)):
            day = week * 7 + offset
            events.append((day, 17, lambda w=week, s=slot, d=day: screen(w, s, d)))
        for slot, offset in enumerate((1, 3)):
            day = week * 7 + offset
            # 22:00 in New York, after the session: the next day in UTC
            events.append((day + 1, 2, lambda w=week, s=slot, d=day: attend(w, s, d)))
    events.append((CORRECTED[0] * 7 + 3, 18, correct))  # Thursday: the lab's answer
    events.append((7 * 7 + 4, 18, lambda: redeem("Bus pass")))
    events.append((11 * 7 + 4, 18, lambda: redeem("Grocery voucher")))
    events.append((11 * 7 + 4, 19, lambda: redeem("Grocery voucher")))
    for day, hour, happen in sorted(events, key=lambda e: (e[0], e[1])):
        go(day, hour)
        happen()

    go(83, 16)  # Sunday 23 August
    mine = ok(client_for(patient).get("/api/v1/me/incentives/"))
    ledger = mine["ledger"]
    vouchers: dict[int, int] = defaultdict(int)
    for entry in ledger:
        if entry["kind"] in ("earned", "reversed"):
            week = (date.fromisoformat(entry["occurred_on"]) - START).days // 7
            vouchers[week] += entry["amount_cents"]
    assert [vouchers[w] for w in range(CM_WEEK, 12)] == VOUCHERS_BY_WEEK
    assert not any(vouchers[w] for w in range(CM_WEEK))
    reversed_ = [e for e in ledger if e["kind"] == "reversed"]
    assert [(e["amount_cents"], e["fact"]) for e in reversed_] == [
        (-1500, f"screen:{screen_ids[CORRECTED]}")
    ]
    draws = [e for e in ledger if e["kind"] == "drawn"]
    assert len(draws) == DRAWS
    assert {e["amount_cents"] for e in draws} <= {0, 100}
    redeemed = [e["amount_cents"] for e in ledger if e["kind"] == "redeemed"]
    assert redeemed == [-2500, -1000, -1000]

    earned = sum(VOUCHERS_BY_WEEK) + sum(e["amount_cents"] for e in draws)
    balance = earned - 4500
    assert sum(e["amount_cents"] for e in ledger) == balance
    assert mine["balance_cents"] == balance
    assert mine["earned_this_year_cents"] == earned
    assert mine["redeemed_cents"] == 4500
    cocaine = next(t for t in mine["targets"] if t["behaviour"] == "negative_screen")
    assert cocaine["next_value_cents"] == 1500
    seen_by_staff = ok(client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/incentives/"))
    assert seen_by_staff["balance_cents"] == balance

    report = ok(client_for(supervisor).get("/api/v1/incentives/report/"))
    assert report["participants"] == 1
    assert report["earned_cents"] == earned
    assert report["redeemed_cents"] == 4500
    assert report["balance_cents"] == balance
    assert report["cost_per_participant_cents"] == earned
    assert report["behaviours_verified"] == 22 + 15
    assert report["behaviours_verified_by_kind"] == {
        "negative_screen": 22,
        "session_attendance": 15,
    }
    assert report["spending"]["earned_cents"] == earned
    assert report["spending"]["budget_left_cents"] == 500_000 - earned
    assert report["cm_began_on"] == "2026-06-29"
    assert report["before"]["screens"] == {"screens": 12, "negative": 6, "rate": 0.5}
    assert report["since"]["screens"] == {"screens": 24, "negative": 22, "rate": 0.9167}
    assert report["before"]["attendance"] == {"recorded": 8, "attended": 5, "rate": 0.625}
    assert report["since"]["attendance"] == {"recorded": 16, "attended": 15, "rate": 0.9375}

    told = Notification.objects.filter(recipient=patient, kind=NotificationKind.INCENTIVE)
    assert told.filter(payload__incentive="earned").count() == 23 + 15
    assert told.filter(payload__incentive="reversed").count() == 1
