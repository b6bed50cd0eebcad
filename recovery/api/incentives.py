"""Contingency management: the program's protocols, caps and catalogue (staff read,
supervisors change), a patient's balance and ledger (the patient, and staff in reach;
staff record redemptions), and the program report (supervisors, JSON or CSV). Out of
reach is 404; staff reads and writes of a patient are audited through the access
selectors, the report explicitly.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import (
    BoundedDateField,
    IdField,
    IsClinician,
    IsPatient,
    StrictSerializer,
    refuse_body_if_any,
)
from recovery.models import (
    AuditEntry,
    Behaviour,
    CatalogueItem,
    IncentiveEntry,
    IncentiveProtocol,
    PrizeSlot,
    Schedule,
    ScreenSubstance,
    User,
)
from recovery.models.incentives import DEFAULT_PATIENT_YEAR_CAP_CENTS
from recovery.selectors.access import (
    enrollment_for_patient_user,
    is_program_supervisor,
    may_change_program_settings,
    visible_enrollment,
)
from recovery.selectors.incentives import (
    incentive_report,
    incentive_summary,
    ledger_of,
    program_spending,
    report_csv,
)
from recovery.services import incentive_program as program_services
from recovery.services.audit import RequestMeta, audit_record_program
from recovery.services.incentives import settings_for

MAX_CENTS = DEFAULT_PATIENT_YEAR_CAP_CENTS


class SupervisorsChange(IsClinician):
    message = "Only supervisors change the program's incentives."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or may_change_program_settings(request.user)


def _audit_change(request: Request, action: str, resource: str) -> None:
    user = request_user(request)
    audit_record_program(
        actor=user,
        action=action,
        resource=resource,
        program_id=_program(user).id,
        meta=RequestMeta.of(request._request),
    )


def _program(user: User) -> Any:
    if user.program is None:  # pragma: no cover - IsClinician requires a program
        raise Http404
    return user.program


# --- settings: the caps and the budget ---------------------------------------------------


class SettingsSerializer(StrictSerializer):
    patient_year_cap_cents = serializers.IntegerField(min_value=0, max_value=MAX_CENTS)
    year_budget_cents = serializers.IntegerField(
        min_value=0, max_value=10**12, allow_null=True, required=False, default=None
    )


class IncentiveSettingsView(APIView):
    """The caps: per patient per year (at most $750) and the program's yearly budget.
    Staff read; supervisors change and see spending against the budget."""

    permission_classes = [SupervisorsChange]

    def _body(self, user: User) -> dict[str, Any]:
        program = _program(user)
        found = settings_for(program)
        body: dict[str, Any] = {
            "patient_year_cap_cents": found.patient_year_cap_cents,
            "year_budget_cents": found.year_budget_cents,
        }
        if is_program_supervisor(user):
            body["spending"] = program_spending(program)
        return body

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(self._body(request_user(request)))

    @extend_schema(request=SettingsSerializer, responses={200: dict})
    def put(self, request: Request) -> Response:
        user = request_user(request)
        serializer = SettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        program_services.incentive_settings_update(
            program=_program(user), actor=user, **serializer.validated_data
        )
        _audit_change(request, AuditEntry.Action.UPDATE, "incentive-settings")
        return Response(self._body(user))


# --- protocols ---------------------------------------------------------------------------


class SlotSerializer(StrictSerializer):
    # DRF takes declared fields off the class, so this shadows no `Field.label`.
    label = serializers.CharField(max_length=60)  # type: ignore[assignment]
    share = serializers.IntegerField(min_value=1, max_value=10_000)
    value_cents = serializers.IntegerField(min_value=0, max_value=MAX_CENTS)


class ProtocolInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    behaviour = serializers.ChoiceField(choices=Behaviour.choices)
    substance = serializers.ChoiceField(
        choices=ScreenSubstance.choices, required=False, default="", allow_blank=True
    )
    streak_days = serializers.IntegerField(
        min_value=2, max_value=60, required=False, allow_null=True, default=None
    )
    schedule = serializers.ChoiceField(choices=Schedule.choices)
    start = serializers.IntegerField(min_value=0, max_value=MAX_CENTS)
    step = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_CENTS)
    maximum = serializers.IntegerField(min_value=0, max_value=MAX_CENTS)
    return_after = serializers.IntegerField(min_value=0, max_value=50, required=False, default=0)
    started_on = BoundedDateField(required=False)
    bowl = SlotSerializer(many=True, required=False, default=list)

    def validate_bowl(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > program_services.MAX_SLOTS:
            raise serializers.ValidationError(f"At most {program_services.MAX_SLOTS} slips.")
        return value

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        bowl = [program_services.SlotInput(**s) for s in attrs.get("bowl", [])]
        data = {k: v for k, v in attrs.items() if k != "bowl" and k not in self.unparsed}
        if {"behaviour", "schedule", "start", "maximum"} & self.unparsed:
            return {}
        return program_services.protocol_problems(data=data, bowl=bowl)


class SlotReadSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrizeSlot
        fields = ["label", "share", "value_cents"]
        read_only_fields = fields


class ProtocolSerializer(serializers.ModelSerializer):
    bowl = SlotReadSerializer(many=True, read_only=True)

    class Meta:
        model = IncentiveProtocol
        fields = [
            "id",
            "name",
            "behaviour",
            "substance",
            "streak_days",
            "schedule",
            "start",
            "step",
            "maximum",
            "return_after",
            "active",
            "started_on",
            "bowl",
        ]
        read_only_fields = fields


class ProtocolList(APIView):
    """The program's protocols. POST sets a new one (supervisors): opioid abstinence is
    refused as a target (reward MOUD adherence instead)."""

    permission_classes = [SupervisorsChange]

    @extend_schema(responses={200: ProtocolSerializer(many=True)})
    def get(self, request: Request) -> Response:
        protocols = IncentiveProtocol.objects.filter(program_id=_program(request_user(request)).id)
        return Response(ProtocolSerializer(protocols.prefetch_related("bowl"), many=True).data)

    @extend_schema(request=ProtocolInputSerializer, responses={201: ProtocolSerializer})
    def post(self, request: Request) -> Response:
        user = request_user(request)
        serializer = ProtocolInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        bowl = [program_services.SlotInput(**s) for s in data.pop("bowl")]
        protocol = program_services.incentive_protocol_create(
            program=_program(user), actor=user, data=data, bowl=bowl
        )
        _audit_change(request, AuditEntry.Action.CREATE, f"incentive-protocol:{protocol.id}")
        return Response(ProtocolSerializer(protocol).data, status=status.HTTP_201_CREATED)


class ProtocolEnd(APIView):
    """Stop a protocol (supervisors): nothing more earns on it; earnings stay."""

    permission_classes = [SupervisorsChange]

    @extend_schema(request=None, responses={200: ProtocolSerializer})
    def post(self, request: Request, pk: int) -> Response:
        refuse_body_if_any(request)
        user = request_user(request)
        protocol = IncentiveProtocol.objects.filter(id=pk, program_id=_program(user).id).first()
        if protocol is None:
            raise Http404
        ended = program_services.incentive_protocol_end(protocol=protocol, actor=user)
        _audit_change(request, AuditEntry.Action.UPDATE, f"incentive-protocol:{protocol.id}")
        return Response(ProtocolSerializer(ended).data)


# --- the catalogue -----------------------------------------------------------------------


class CatalogueItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = CatalogueItem
        fields = ["id", "name", "value_cents", "active"]
        read_only_fields = fields


class CatalogueInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    value_cents = serializers.IntegerField(min_value=1, max_value=DEFAULT_PATIENT_YEAR_CAP_CENTS)


class CatalogueList(APIView):
    """What the program gives for earned value: items and vouchers, never cash. The
    program's patients and staff read it; supervisors add to it."""

    permission_classes = [permissions.IsAuthenticated]

    def get_permissions(self) -> list[Any]:
        if self.request.method not in SAFE_METHODS:
            return [SupervisorsChange()]
        return list(super().get_permissions())

    @extend_schema(responses={200: CatalogueItemSerializer(many=True)})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        if is_program_supervisor(user) or IsClinician().has_permission(request, self):
            program_id = _program(user).id
        else:
            program_id = enrollment_for_patient_user(user).program_id
        items = CatalogueItem.objects.filter(program_id=program_id, active=True)
        return Response(CatalogueItemSerializer(items, many=True).data)

    @extend_schema(request=CatalogueInputSerializer, responses={201: CatalogueItemSerializer})
    def post(self, request: Request) -> Response:
        user = request_user(request)
        serializer = CatalogueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = program_services.catalogue_item_add(
            program=_program(user), actor=user, **serializer.validated_data
        )
        _audit_change(request, AuditEntry.Action.CREATE, f"incentive-catalogue:{item.id}")
        return Response(CatalogueItemSerializer(item).data, status=status.HTTP_201_CREATED)


# --- a patient's balance and ledger --------------------------------------------------------


class EntrySerializer(serializers.ModelSerializer):
    fact = serializers.CharField(source="outcome.fact_key", default=None, read_only=True)
    occurred_on = serializers.DateField(source="outcome.occurred_on", default=None)

    class Meta:
        model = IncentiveEntry
        fields = ["id", "kind", "amount_cents", "label", "item", "fact", "occurred_on", "at"]
        read_only_fields = fields


def _account(enrollment: Any) -> dict[str, Any]:
    body = incentive_summary(enrollment).as_dict()
    entries = ledger_of(enrollment).select_related("outcome")
    body["ledger"] = EntrySerializer(entries, many=True).data
    return body


class MyIncentives(APIView):
    """Your rewards: the balance, each target and what its next success is worth, and
    every ledger line (earned, drawn, reversed, redeemed)."""

    permission_classes = [IsPatient]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(_account(enrollment_for_patient_user(request_user(request))))


class PatientIncentives(APIView):
    """A patient's rewards, for staff in reach and the patient (404 otherwise)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        return Response(_account(visible_enrollment(request_user(request), pk)))


class RedemptionInputSerializer(StrictSerializer):
    item = IdField()


class PatientRedemptions(APIView):
    """Staff record a catalogue item handed to the patient against their balance."""

    permission_classes = [IsClinician]

    @extend_schema(request=RedemptionInputSerializer, responses={201: EntrySerializer})
    def post(self, request: Request, pk: int) -> Response:
        user = request_user(request)
        enrollment = visible_enrollment(user, pk)
        serializer = RedemptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = CatalogueItem.objects.filter(
            id=serializer.validated_data["item"], program_id=enrollment.program_id
        ).first()
        if item is None:
            raise serializers.ValidationError({"item": ["Not in this program's catalogue."]})
        entry = program_services.incentive_redeem(enrollment=enrollment, actor=user, item=item)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


# --- the program report --------------------------------------------------------------------


class IncentiveReport(APIView):
    """The program's contingency management report (supervisors): participants,
    behaviours verified, value earned and redeemed, cost per participant against the cap,
    attendance and negative screens since CM began against as long before. `csv/` gives
    it as CSV. Each read is audited for every participant."""

    permission_classes = [IsClinician]
    as_csv = False

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response | HttpResponse:
        user = request_user(request)
        if not is_program_supervisor(user):
            raise PermissionDenied("Only supervisors read the program's report.")
        program = _program(user)
        report = incentive_report(program)
        program_services.incentive_report_audit(
            actor=user, program=program, as_csv=self.as_csv, meta=RequestMeta.of(request._request)
        )
        if not self.as_csv:
            return Response(report)
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="incentive-report.csv"'
        return response


class IncentiveReportCsv(IncentiveReport):
    as_csv = True

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> Response | HttpResponse:
        return super().get(request)
