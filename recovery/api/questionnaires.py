"""Questionnaires: what is due and the questionnaire itself (in the patient's language),
idempotent submission, a counselor's assignment, score histories, and the program's
instruments, schedule and alert thresholds."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import StrictSerializer, request_user
from recovery.api.checkins import MAX_AGE, MAX_FUTURE_SKEW, CrisisResourceSerializer
from recovery.api.common import (
    AwareDateTimeField,
    IsClinician,
    IsPatient,
    PatientWritesStaffReads,
    parse_id_param,
    program_of,
    validate_zone_name,
)
from recovery.crisis import crisis_resources
from recovery.models import QuestionnaireResponse, QuestionnaireSchedule, Stage
from recovery.selectors.access import (
    enrollment_for_patient_user,
    records_visible_to,
    visible_enrollment,
)
from recovery.selectors.questionnaires import (
    change_since_baseline,
    due_assignments,
    instrument_definition,
    instruments_for_program,
    localized,
    score_history,
)
from recovery.services.questionnaire_schedules import (
    program_instrument_save,
    questionnaire_assign,
    questionnaire_schedule_set,
    questionnaire_settings_set,
)
from recovery.services.questionnaires import questionnaire_submit

MAX_ANSWERS = 60


class ResponseSerializer(StrictSerializer):
    id = serializers.UUIDField(help_text="The client's own UUID.")
    instrument = serializers.CharField(max_length=32)
    answers = serializers.DictField(
        child=serializers.JSONField(), help_text="Item id to option code (or whole number)."
    )
    device_time = AwareDateTimeField()
    device_timezone = serializers.CharField(max_length=64)

    def validate_answers(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_ANSWERS:
            raise serializers.ValidationError(f"At most {MAX_ANSWERS} answers.")
        for answer in value.values():
            if not isinstance(answer, str | int) or (isinstance(answer, str) and len(answer) > 32):
                raise serializers.ValidationError("Each answer is an option code or a number.")
        return value

    def validate_device_timezone(self, value: str) -> str:
        return validate_zone_name(value)

    def validate_device_time(self, value: Any) -> Any:
        now = timezone.now()
        if value > now + MAX_FUTURE_SKEW:
            raise serializers.ValidationError("Cannot be in the future.")
        if value < now - MAX_AGE:
            raise serializers.ValidationError("Older than 14 days; ask your counselor.")
        return value


def response_body(response: QuestionnaireResponse) -> dict[str, Any]:
    return {
        "id": str(response.client_id),
        "patient": response.enrollment_id,
        "instrument": response.instrument,
        "instrument_version": response.instrument_version,
        "language": response.language,
        "answers": response.answers,
        "total": response.total,
        "band": response.band,
        "scales": response.scales,
        "bands": response.bands,
        "device_time": response.device_time.isoformat(),
        "received_at": response.received_at.isoformat(),
        "is_late": response.is_late,
    }


class MyDueQuestionnaires(APIView):
    """The questionnaires the patient has due now, soonest closing first."""

    permission_classes = [IsPatient]

    @extend_schema(
        responses={
            200: inline_serializer(
                "DueQuestionnaire",
                {
                    "assignment_id": serializers.IntegerField(),
                    "instrument": serializers.CharField(),
                },
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        enrollment = enrollment_for_patient_user(request_user(request))
        rows = []
        for assignment in due_assignments(enrollment=enrollment, now=timezone.now()):
            definition = instrument_definition(
                program_id=enrollment.program_id, code=assignment.instrument
            )
            if definition is None:
                continue
            shown = localized(definition, enrollment.language)
            rows.append(
                {
                    "assignment_id": assignment.id,
                    "instrument": assignment.instrument,
                    "title": shown["title"],
                    "due_at": assignment.due_at.isoformat(),
                    "closes_at": assignment.closes_at.isoformat(),
                }
            )
        return Response(rows)


class MyQuestionnaire(APIView):
    """One questionnaire as the app shows it, in the patient's language where it exists."""

    permission_classes = [IsPatient]

    @extend_schema(responses={200: serializers.DictField()})
    def get(self, request: Request, instrument: str) -> Response:
        enrollment = enrollment_for_patient_user(request_user(request))
        definition = instrument_definition(program_id=enrollment.program_id, code=instrument)
        if definition is None:
            raise Http404
        return Response(localized(definition, enrollment.language))


class ResponseList(APIView):
    """Patients submit (idempotent by `id`); the answer carries the server's scores and,
    on a risk answer, the crisis resources. Staff and patients read what they may see."""

    permission_classes = [PatientWritesStaffReads]

    @extend_schema(
        request=ResponseSerializer,
        responses={
            201: inline_serializer(
                "QuestionnaireResponseCreated",
                {
                    "id": serializers.UUIDField(),
                    "total": serializers.IntegerField(),
                    "band": serializers.CharField(),
                    "crisis_resources": CrisisResourceSerializer(many=True, allow_null=True),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        enrollment = enrollment_for_patient_user(request_user(request))
        serializer = ResponseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = questionnaire_submit(
            enrollment=enrollment,
            client_id=data["id"],
            instrument=data["instrument"],
            answers=data["answers"],
            device_time=data["device_time"],
            device_timezone=data["device_timezone"],
        )
        body = response_body(result.response)
        body["crisis_resources"] = crisis_resources() if result.crisis else None
        headers = {} if result.created else {"Idempotent-Replayed": "true"}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    @extend_schema(
        responses={
            200: inline_serializer(
                "QuestionnaireResponseRow",
                {
                    "id": serializers.UUIDField(),
                    "instrument": serializers.CharField(),
                    "total": serializers.IntegerField(),
                },
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        rows = records_visible_to(request_user(request), QuestionnaireResponse.objects.all())
        patient = request.query_params.get("patient")
        if patient is not None:
            rows = rows.filter(enrollment_id=parse_id_param(patient, "patient"))
        return Response([response_body(r) for r in rows[:200]])


class QuestionnaireAssignSerializer(StrictSerializer):
    instrument = serializers.CharField(max_length=32)
    window_days = serializers.IntegerField(min_value=1, max_value=30, default=3)


class PatientQuestionnaires(APIView):
    """A counselor makes a questionnaire due for a patient on their caseload."""

    permission_classes = [IsClinician]

    @extend_schema(request=QuestionnaireAssignSerializer, responses={201: serializers.DictField()})
    def post(self, request: Request, pk: int) -> Response:
        actor = request_user(request)
        enrollment = visible_enrollment(actor, pk)
        serializer = QuestionnaireAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = questionnaire_assign(enrollment=enrollment, actor=actor, **serializer.data)
        return Response(
            {
                "assignment_id": assignment.id,
                "instrument": assignment.instrument,
                "due_at": assignment.due_at.isoformat(),
                "closes_at": assignment.closes_at.isoformat(),
            },
            status=status.HTTP_201_CREATED,
        )


class PatientScores(APIView):
    """Each instrument's scores over time with its bands (to shade on the chart) and the
    change since baseline: reliable change, response and remission where defined."""

    permission_classes = [IsClinician]

    @extend_schema(responses={200: serializers.DictField()})
    def get(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        history = score_history(enrollment_ids=[enrollment.id]).get(enrollment.id, {})
        body: dict[str, Any] = {}
        for code, points in history.items():
            definition = instrument_definition(program_id=enrollment.program_id, code=code)
            bands = _total_bands(definition) if definition is not None else []
            change = change_since_baseline(code, points)
            body[code] = {
                "bands": bands,
                "points": [
                    {"at": p.at.isoformat(), "total": p.total, "band": p.band, "scales": p.scales}
                    for p in points
                ],
                "change": None if change is None else change.__dict__,
            }
        return Response(body)


def _total_bands(definition: dict[str, Any]) -> list[dict[str, Any]]:
    for scale in definition["scales"]:
        if scale["id"] == definition["total"]:
            return list(scale.get("bands", []))
    return []


class InstrumentSerializer(StrictSerializer):
    definition = serializers.JSONField()


class ProgramInstruments(APIView):
    """The instruments of the caller's program; supervisors add their own as data."""

    permission_classes = [IsClinician]

    @extend_schema(
        responses={
            200: inline_serializer(
                "ProgramInstrument",
                {"code": serializers.CharField(), "version": serializers.CharField()},
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        actor = request_user(request)
        assert actor.program_id is not None  # IsClinician: program staff
        return Response(
            [
                {
                    "code": d["code"],
                    "version": d["version"],
                    "title": d["title"][d["languages"][0]],
                    "languages": d["languages"],
                    "loinc": d.get("loinc"),
                    "source": d["source"],
                    "terms": d["terms"],
                    "definition": d,
                }
                for d in instruments_for_program(actor.program_id)
            ]
        )

    @extend_schema(request=InstrumentSerializer, responses={201: serializers.DictField()})
    def post(self, request: Request) -> Response:
        actor = request_user(request)
        serializer = InstrumentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assert actor.program is not None  # IsClinician: program staff
        saved = program_instrument_save(
            program=actor.program, actor=actor, definition=serializer.validated_data["definition"]
        )
        return Response({"code": saved.code, "version": saved.version}, status=201)


# Its own component: the check-in schedule's serializer has the same class name, and the
# schema would describe this body with that one's fields.
@extend_schema_serializer(component_name="QuestionnaireSchedule")
class ScheduleSerializer(StrictSerializer):
    instrument = serializers.CharField(max_length=32)
    every_days = serializers.IntegerField(
        min_value=1, max_value=365, required=False, allow_null=True, default=None
    )
    once = serializers.BooleanField(
        default=False, help_text="Once per enrollment, at intake, instead of every_days."
    )
    stage = serializers.ChoiceField(choices=[("", "Every stage"), *Stage.choices], default="")
    window_days = serializers.IntegerField(min_value=1, max_value=30, default=3)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        once = attrs.pop("once")
        if once and attrs["every_days"] is not None:
            raise serializers.ValidationError({"every_days": ["Leave it out with once."]})
        if not once and attrs["every_days"] is None:
            raise serializers.ValidationError(
                {"every_days": ["How many days apart, or once: true for once at intake."]}
            )
        return attrs


def schedule_body(schedule: QuestionnaireSchedule) -> dict[str, Any]:
    return {
        "instrument": schedule.instrument,
        "every_days": schedule.every_days,
        "once": schedule.every_days is None,
        "stage": schedule.stage,
        "window_days": schedule.window_days,
    }


class ProgramQuestionnaireSchedule(APIView):
    """The program's schedule of questionnaires; supervisors set a line (per instrument
    and stage, blank for every stage)."""

    permission_classes = [IsClinician]

    @extend_schema(
        responses={
            200: inline_serializer(
                "QuestionnaireScheduleLine",
                {
                    "instrument": serializers.CharField(),
                    "every_days": serializers.IntegerField(allow_null=True),
                    "once": serializers.BooleanField(),
                },
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        actor = request_user(request)
        lines = QuestionnaireSchedule.objects.filter(program_id=program_of(actor))
        return Response([schedule_body(s) for s in lines.order_by("instrument", "stage")])

    @extend_schema(request=ScheduleSerializer, responses={200: serializers.DictField()})
    def post(self, request: Request) -> Response:
        actor = request_user(request)
        serializer = ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assert actor.program is not None
        schedule = questionnaire_schedule_set(
            program=actor.program, actor=actor, **serializer.validated_data
        )
        return Response(schedule_body(schedule))


class ThresholdsSerializer(StrictSerializer):
    alert_thresholds = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=1000))
    )


class ProgramQuestionnaireSettingsView(APIView):
    permission_classes = [IsClinician]

    @extend_schema(request=ThresholdsSerializer, responses={200: serializers.DictField()})
    def put(self, request: Request) -> Response:
        actor = request_user(request)
        serializer = ThresholdsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assert actor.program is not None
        settings = questionnaire_settings_set(
            program=actor.program, actor=actor, **serializer.validated_data
        )
        return Response({"alert_thresholds": settings.alert_thresholds})
