"""What a program sets for contingency management (protocols, caps, its catalogue) and
what its staff record (redemptions). Only supervisors change the program's settings
(`may_change_program_settings`); any of the program's staff record a redemption for a
patient in their reach (the API finds the patient through `visible_enrollment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from backend.errors import NotAllowed, ServiceError
from recovery.dates import program_today
from recovery.models import (
    AuditEntry,
    Behaviour,
    CatalogueItem,
    Enrollment,
    EntryKind,
    IncentiveEntry,
    IncentiveProtocol,
    IncentiveSettings,
    PrizeSlot,
    Program,
    Schedule,
    ScreenSubstance,
    User,
)
from recovery.models.incentives import DEFAULT_PATIENT_YEAR_CAP_CENTS
from recovery.selectors.access import is_program_staff, may_change_program_settings
from recovery.services.audit import RequestMeta, audit_record
from recovery.services.incentives import settings_for
from recovery.services.monitoring import _require_active

S = ScreenSubstance
STIMULANTS = (S.COCAINE, S.AMPHETAMINES, S.METHAMPHETAMINE, S.MDMA)
ABSTINENCE_TARGETS = (*STIMULANTS, S.ALCOHOL, S.CANNABIS)
OPIOIDS = (S.OPIATES, S.FENTANYL, S.OXYCODONE, S.METHADONE, S.BUPRENORPHINE, S.TRAMADOL)
MOUD_IN_SCREENS = (S.BUPRENORPHINE, S.METHADONE)
OPIOID_REFUSAL = (
    "Abstinence from opioids is not a target for contingency management: medication for "
    "opioid use disorder is the treatment (SAMHSA 2025). Reward MOUD adherence instead."
)
MAX_DRAWS = 20
MAX_SLOTS = 10


@dataclass(frozen=True)
class SlotInput:
    label: str
    share: int
    value_cents: int


def _require_supervisor(actor: User, program: Program) -> None:
    if not may_change_program_settings(actor, program.id):
        raise NotAllowed(message="Only supervisors change the program's incentives.")


def protocol_problems(
    *, data: dict[str, Any], bowl: list[SlotInput], cap_cents: int = DEFAULT_PATIENT_YEAR_CAP_CENTS
) -> dict[str, list[str]]:
    """The rules of a protocol, by field: the target, the schedule, the bowl."""
    errors: dict[str, list[str]] = {}
    behaviour, substance = data.get("behaviour"), data.get("substance", "")
    if behaviour == Behaviour.NEGATIVE_SCREEN:
        if substance in OPIOIDS:
            errors["substance"] = [OPIOID_REFUSAL]
        elif substance not in ABSTINENCE_TARGETS:
            errors["substance"] = ["Choose a stimulant, alcohol or cannabis."]
    elif behaviour == Behaviour.MEDICATION_ADHERENCE:
        if substance not in MOUD_IN_SCREENS:
            errors["substance"] = ["Choose the prescribed buprenorphine or methadone."]
    elif substance:
        errors["substance"] = ["Only a screen target names a substance."]
    if behaviour == Behaviour.CHECKIN_STREAK and not data.get("streak_days"):
        errors["streak_days"] = ["Say how many days in a row earn."]
    elif behaviour != Behaviour.CHECKIN_STREAK and data.get("streak_days"):
        errors["streak_days"] = ["Only a check-in streak has days."]
    start, maximum = data.get("start", 0), data.get("maximum", 0)
    if start < 1:
        errors["start"] = ["At least 1."]
    if maximum < start:
        errors["maximum"] = ["At least the start."]
    if data.get("schedule") == Schedule.PRIZE:
        if maximum > MAX_DRAWS:
            errors["maximum"] = [f"At most {MAX_DRAWS} draws."]
        if not bowl:
            errors["bowl"] = ["Fill the bowl: each slip's label, share and value."]
        elif len(bowl) > MAX_SLOTS:
            errors["bowl"] = [f"At most {MAX_SLOTS} kinds of slip."]
        elif any(slot.value_cents > cap_cents for slot in bowl):
            errors["bowl"] = ["No prize may be worth more than a patient's yearly cap."]
    else:
        if bowl:
            errors["bowl"] = ["Only a prize schedule has a bowl."]
        if maximum > cap_cents:
            errors["maximum"] = ["At most a patient's yearly cap."]
    return errors


def incentive_protocol_create(
    *, program: Program, actor: User, data: dict[str, Any], bowl: list[SlotInput]
) -> IncentiveProtocol:
    """A supervisor sets a target behaviour and its schedule, from `started_on` (today in
    the program's zone unless given)."""
    _require_supervisor(actor, program)
    cap = settings_for(program).patient_year_cap_cents
    errors = protocol_problems(data=data, bowl=bowl, cap_cents=cap)
    if errors:
        raise ServiceError(errors)
    data = dict(data)
    with transaction.atomic():
        protocol = IncentiveProtocol.objects.create(
            program=program,
            started_on=data.pop("started_on", None) or program_today(program),
            created_by=actor,
            created_at=timezone.now(),
            **data,
        )
        slots = [PrizeSlot(protocol=protocol, **vars(slot)) for slot in bowl]
        PrizeSlot.objects.bulk_create(slots)
        _note_streak_length(program)
    return protocol


def incentive_protocol_end(*, protocol: IncentiveProtocol, actor: User) -> IncentiveProtocol:
    """Stop a protocol: no fact earns on it from now; what was earned stays."""
    _require_supervisor(actor, protocol.program)
    with transaction.atomic():
        protocol.active = False
        protocol.save(update_fields=["active"])
        _note_streak_length(protocol.program)
    return protocol


def _note_streak_length(program: Program) -> None:
    """Program.incentive_streak_days follows the program's active streak protocols."""
    longest = IncentiveProtocol.objects.filter(
        program=program, behaviour=Behaviour.CHECKIN_STREAK, active=True
    ).aggregate(longest=Max("streak_days"))["longest"]
    Program.objects.filter(pk=program.pk).update(incentive_streak_days=longest)
    program.incentive_streak_days = longest


def incentive_settings_update(
    *, program: Program, actor: User, patient_year_cap_cents: int, year_budget_cents: int | None
) -> IncentiveSettings:
    _require_supervisor(actor, program)
    if not 0 <= patient_year_cap_cents <= DEFAULT_PATIENT_YEAR_CAP_CENTS:
        raise ServiceError(
            {"patient_year_cap_cents": ["At most 75000 cents ($750) a year (SAMHSA)."]}
        )
    with transaction.atomic():
        found = settings_for(program)
        found.patient_year_cap_cents = patient_year_cap_cents
        found.year_budget_cents = year_budget_cents
        found.updated_by = actor
        found.save()
    return found


def catalogue_item_add(
    *, program: Program, actor: User, name: str, value_cents: int
) -> CatalogueItem:
    """An item or voucher the program gives; never cash."""
    _require_supervisor(actor, program)
    if "cash" in name.lower():
        raise ServiceError({"name": ["Rewards are items or vouchers, never cash."]})
    return CatalogueItem.objects.create(program=program, name=name.strip(), value_cents=value_cents)


def incentive_report_audit(
    *, actor: User, program: Program, as_csv: bool, meta: RequestMeta
) -> None:
    """A supervisor read the program report: it is drawn from every patient of the program
    (their attendance and screens), not only the participants, so each is noted."""
    audit_record(
        actor=actor,
        action=AuditEntry.Action.EXPORT if as_csv else AuditEntry.Action.READ,
        resource="incentive-report",
        enrollment_ids=Enrollment.objects.filter(program=program).values_list("id", flat=True),
        meta=meta,
        status_code=200,
    )


def balance_of(enrollment: Enrollment) -> int:
    total = IncentiveEntry.objects.filter(enrollment=enrollment).aggregate(t=Sum("amount_cents"))
    return int(total["t"] or 0)


def incentive_redeem(
    *, enrollment: Enrollment, actor: User, item: CatalogueItem, on: date | None = None
) -> IncentiveEntry:
    """Staff hand the patient a catalogue item against their balance."""
    if not is_program_staff(actor, enrollment.program_id):
        raise NotAllowed(message="Only the program's staff record redemptions.")
    _require_active(enrollment)
    if item.program_id != enrollment.program_id or not item.active:
        raise ServiceError({"item": ["Not in this program's catalogue."]})
    with transaction.atomic():
        # One redemption at a time per patient: the balance read is the balance spent.
        Enrollment.objects.select_for_update().filter(id=enrollment.id).first()
        balance = balance_of(enrollment)
        if item.value_cents > balance:
            raise ServiceError(
                {"item": [f"Worth {item.value_cents} cents; the balance is {balance}."]}
            )
        now = timezone.now()
        return IncentiveEntry.objects.create(
            enrollment=enrollment,
            kind=EntryKind.REDEEMED,
            amount_cents=-item.value_cents,
            item=item,
            label=item.name,
            year=(on or program_today(enrollment.program, now)).year,
            actor=actor,
            at=now,
        )
