"""Contingency management: rewards for verified recovery behaviours.

A program sets protocols (which verified behaviour earns, on which schedule); each fact
the backend records (a screen, attendance, a check-in streak) is judged once per
protocol (`IncentiveOutcome`, unique per protocol, patient and fact); what it earned goes
to an append-only ledger (`IncentiveEntry`): earned, drawn, reversed, redeemed. Money is
in integer cents; rewards are catalogue items or vouchers, never cash.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from recovery.models.accounts import Program
from recovery.models.enrollment import Enrollment

# SAMHSA (January 2025): up to $750 per patient per year.
DEFAULT_PATIENT_YEAR_CAP_CENTS = 75_000


class Behaviour(models.TextChoices):
    NEGATIVE_SCREEN = "negative_screen", "Negative drug screen"
    MEDICATION_ADHERENCE = "medication_adherence", "MOUD adherence (screen positive as prescribed)"
    SESSION_ATTENDANCE = "session_attendance", "Session attendance"
    CHECKIN_STREAK = "checkin_streak", "Daily check-in streak"
    # An assigned questionnaire completed in its window (`questionnaire_submit`).
    QUESTIONNAIRE_COMPLETED = "questionnaire_completed", "Completed questionnaire"


class Schedule(models.TextChoices):
    ESCALATING = "escalating", "Escalating vouchers"
    PRIZE = "prize", "Prize draws"


class IncentiveSettings(models.Model):
    """A program's caps: per patient per calendar year, and the program's yearly budget."""

    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, related_name="incentive_settings"
    )
    patient_year_cap_cents = models.PositiveIntegerField(
        default=DEFAULT_PATIENT_YEAR_CAP_CENTS,
        validators=[MaxValueValidator(DEFAULT_PATIENT_YEAR_CAP_CENTS)],
    )
    # None: no budget set, only the patients' caps apply.
    year_budget_cents = models.PositiveBigIntegerField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)


class IncentiveProtocol(models.Model):
    """One target behaviour and its schedule. Escalating: the k-th success in a row earns
    start + (k-1) * step, at most max. Prize: it earns that many draws from the bowl
    (start/step/max counted in draws). A miss resets to the start; `return_after`
    successes in a row after a reset return to the level in force before it (0: never)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="cm_protocols")
    name = models.CharField(max_length=120)
    behaviour = models.CharField(max_length=32, choices=Behaviour.choices)
    substance = models.CharField(max_length=24, blank=True)
    streak_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(60)]
    )
    schedule = models.CharField(max_length=16, choices=Schedule.choices)
    start = models.PositiveIntegerField()
    step = models.PositiveIntegerField(default=0)
    maximum = models.PositiveIntegerField()
    return_after = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    started_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["program", "behaviour", "active"])]


class PrizeSlot(models.Model):
    """One kind of slip in a protocol's bowl: `share` slips of `value_cents` each (a
    "good job" slip is worth 0)."""

    protocol = models.ForeignKey(IncentiveProtocol, on_delete=models.CASCADE, related_name="bowl")
    label = models.CharField(max_length=60)
    share = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    value_cents = models.PositiveIntegerField()

    class Meta:
        ordering = ["value_cents", "id"]


class IncentiveStanding(models.Model):
    """Where a patient stands on a protocol's schedule: the next level, the level a
    reset took away (to return to), and the successes in a row since. Locked while a fact
    is judged, so facts of one patient and protocol are judged one at a time."""

    protocol = models.ForeignKey(IncentiveProtocol, on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="+")
    level = models.PositiveIntegerField(default=0)
    saved_level = models.PositiveIntegerField(null=True, blank=True)
    run = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["protocol", "enrollment"], name="uniq_cm_standing")
        ]


class CatalogueItem(models.Model):
    """Something the program gives for earned value: an item or a voucher, never cash."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="cm_catalogue")
    name = models.CharField(max_length=120)
    value_cents = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["value_cents", "id"]


class OutcomeResult(models.TextChoices):
    SUCCESS = "success", "Success"
    MISS = "miss", "Miss"


class IncentiveOutcome(models.Model):
    """How one fact was judged for one protocol: once, whatever retries or concurrent
    writes happen (the unique constraint). `reversed_at` marks a success whose fact was
    corrected; the ledger shows the reversal."""

    protocol = models.ForeignKey(IncentiveProtocol, on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="+")
    fact_key = models.CharField(max_length=80)
    occurred_on = models.DateField()
    result = models.CharField(max_length=8, choices=OutcomeResult.choices)
    level = models.PositiveIntegerField(default=0)
    value_cents = models.PositiveIntegerField(default=0)
    withheld_cents = models.PositiveIntegerField(default=0)
    reversed_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "enrollment", "fact_key"], name="uniq_cm_outcome"
            )
        ]


class AppendOnlyLedger(models.QuerySet["IncentiveEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("The incentive ledger is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The incentive ledger is append-only.")


class EntryKind(models.TextChoices):
    EARNED = "earned", "Earned"
    DRAWN = "drawn", "Drawn"
    REVERSED = "reversed", "Reversed"
    REDEEMED = "redeemed", "Redeemed"


class IncentiveEntry(models.Model):
    """One line of a patient's ledger. `amount_cents` is signed: earned and drawn add,
    reversed and redeemed take away. Never changed once written."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="incentive_entries"
    )
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount_cents = models.BigIntegerField()
    outcome = models.ForeignKey(
        IncentiveOutcome, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    item = models.ForeignKey(
        CatalogueItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    label = models.CharField(max_length=120, blank=True)
    # The calendar year (program's zone) whose cap it counts against.
    year = models.PositiveSmallIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    objects = AppendOnlyLedger.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["enrollment", "at"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["earned", "drawn"], amount_cents__gte=0)
                    | Q(kind__in=["reversed", "redeemed"], amount_cents__lte=0)
                ),
                name="cm_entry_sign",
            )
        ]
