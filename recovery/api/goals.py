"""A plan's goals one by one: read one with its progress, set its status, revise it, and
progress entered by hand on hand-measured goals (staff or the patient). Out of reach is 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import BoundedDateField, IsClinician, StrictSerializer
from recovery.api.plan import GoalSerializer
from recovery.models import GoalMetric, GoalProgressEntry, GoalStatus, PlanGoal
from recovery.selectors.plan import goal_progress_for, goals_visible_to
from recovery.services import plan as plan_services

# --- serializers ------------------------------------------------------------------------


class StatusSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=GoalStatus.choices, help_text="met, not_met, dropped or active (revise to revise)."
    )
    note = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return plan_services.goal_status_problems(
            goal=self.context["goal"], status=attrs.get("status")
        )


class ReviseSerializer(StrictSerializer):
    description = serializers.CharField(max_length=500, required=False)
    metric = serializers.ChoiceField(choices=GoalMetric.choices, required=False)
    target_value = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    due_date = BoundedDateField(required=False)
    note = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # The successor keeps what the revision does not change.
        goal: PlanGoal = self.context["goal"]
        rules = plan_services.goal_problems(
            enrollment=goal.plan.enrollment,
            description=attrs.get("description"),
            metric=attrs.get("metric", goal.metric),
            target_value=(
                None if "metric" in self.unparsed else attrs.get("target_value", goal.target_value)
            ),
            due_date=attrs.get("due_date"),
        )
        return {**rules, **plan_services.goal_revise_problems(goal=goal)}


class ProgressEntrySerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="goal.plan.enrollment_id", read_only=True)

    class Meta:
        model = GoalProgressEntry
        fields = [
            "id",
            "patient",
            "goal",
            "value",
            "on_date",
            "note",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class ProgressEntryInputSerializer(StrictSerializer):
    value = serializers.DecimalField(max_digits=6, decimal_places=2)
    on_date = BoundedDateField(required=False)
    note = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return plan_services.goal_progress_problems(
            goal=self.context["goal"], value=attrs.get("value"), on_date=attrs.get("on_date")
        )


# --- views ------------------------------------------------------------------------------


def _goal(request: Request, pk: int) -> PlanGoal:
    return generics.get_object_or_404(
        goals_visible_to(request_user(request)).select_related("plan__enrollment"), pk=pk
    )


def _goal_response(goal: PlanGoal, code: int = status.HTTP_200_OK) -> Response:
    context = {"progress": {goal.id: goal_progress_for(goal)}}
    return Response(GoalSerializer(goal, context=context).data, status=code)


class GoalDetail(APIView):
    @extend_schema(responses={200: GoalSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return _goal_response(_goal(request, pk))


class GoalStatusView(APIView):
    """Set a goal met, not met, dropped or active again; the change is kept in history."""

    permission_classes = [IsClinician]

    @extend_schema(request=StatusSerializer, responses={200: GoalSerializer})
    def post(self, request: Request, pk: int) -> Response:
        goal = _goal(request, pk)
        serializer = StatusSerializer(data=request.data, context={"goal": goal})
        serializer.is_valid(raise_exception=True)
        goal = plan_services.goal_status_set(
            goal=goal, actor=request_user(request), **serializer.validated_data
        )
        return _goal_response(goal)


class GoalReviseView(APIView):
    """Revise a goal: it closes as "revised" and its successor (answered) opens."""

    permission_classes = [IsClinician]

    @extend_schema(request=ReviseSerializer, responses={201: GoalSerializer})
    def post(self, request: Request, pk: int) -> Response:
        goal = _goal(request, pk)
        serializer = ReviseSerializer(data=request.data, context={"goal": goal})
        serializer.is_valid(raise_exception=True)
        successor = plan_services.goal_revise(
            goal=goal, actor=request_user(request), **serializer.validated_data
        )
        return _goal_response(successor, status.HTTP_201_CREATED)


class GoalProgressList(generics.ListAPIView):
    """Progress entered by hand on a `manual` goal (staff or the patient)."""

    serializer_class = ProgressEntrySerializer
    queryset = GoalProgressEntry.objects.none()

    def get_queryset(self) -> QuerySet[GoalProgressEntry]:
        return _goal(self.request, self.kwargs["pk"]).progress_entries.all()

    @extend_schema(request=ProgressEntryInputSerializer, responses={201: ProgressEntrySerializer})
    def post(self, request: Request, pk: int) -> Response:
        goal = _goal(request, pk)
        serializer = ProgressEntryInputSerializer(data=request.data, context={"goal": goal})
        serializer.is_valid(raise_exception=True)
        entry = plan_services.goal_progress_record(
            goal=goal, actor=request_user(request), **serializer.validated_data
        )
        return Response(ProgressEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
