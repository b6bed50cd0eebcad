"""The treatment plan: plans with their goals (each with its history and progress),
comments and reviews.

The care team (and the program's supervisors) write the plan; the patient reads it,
comments and agrees. Out of reach is 404. A goal's own endpoints (status, revision,
progress entries) are in `recovery.api.goals`; the stage and level-of-care suggestion in
`recovery.api.suggestion`; the monitoring columns of the caseload in
`recovery.api.monitoring`.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import BoundedDateField, IdField, IsClinician, StrictSerializer
from recovery.api.monitoring import patient_filter
from recovery.models import (
    GoalDomain,
    GoalMetric,
    GoalStatusChange,
    PlanComment,
    PlanGoal,
    PlanReview,
    TreatmentPlan,
)
from recovery.selectors.access import enrollments_visible_to, visible_enrollment
from recovery.selectors.plan import goal_progress_for, plan_progress, plans_visible_to
from recovery.services import plan as plan_services

# --- serializers ------------------------------------------------------------------------


class WeekProgressSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    value = serializers.IntegerField()
    met = serializers.BooleanField(allow_null=True, help_text="Null while the week runs.")
    in_progress = serializers.BooleanField(help_text="This week, not over yet.")


class ProgressSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=GoalMetric.choices)
    target_value = serializers.FloatField()
    current_value = serializers.FloatField(allow_null=True)
    target_met = serializers.BooleanField(allow_null=True)
    basis = serializers.CharField(
        help_text="last_complete_week, this_week_so_far, last_28_days, streak, latest_entry, "
        "no_entry_yet, latest_response or no_response_yet."
    )
    weeks = WeekProgressSerializer(many=True)
    as_of = serializers.DateField()


class GoalHistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = GoalStatusChange
        fields = ["from_status", "to_status", "note", "changed_by", "changed_at"]


class GoalSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="plan.enrollment_id", read_only=True)
    replaced_by = serializers.SerializerMethodField()
    history = GoalHistorySerializer(many=True, read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = PlanGoal
        fields = [
            "id",
            "plan",
            "patient",
            "domain",
            "description",
            "metric",
            "target_value",
            "instrument",
            "due_date",
            "status",
            "replaces",
            "replaced_by",
            "created_by",
            "created_at",
            "status_changed_at",
            "history",
            "progress",
        ]
        read_only_fields = fields

    def get_replaced_by(self, obj: PlanGoal) -> int | None:
        successor = getattr(obj, "replaced_by", None)
        return successor.id if successor is not None else None

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, obj: PlanGoal) -> dict[str, Any] | None:
        progress: dict[int, dict[str, Any]] | None = self.context.get("progress")
        if progress is None:
            return None
        found = progress.get(obj.id)
        return ProgressSerializer(found).data if found is not None else None


class CommentSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="plan.enrollment_id", read_only=True)

    class Meta:
        model = PlanComment
        fields = ["id", "patient", "author", "body", "agrees", "created_at"]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="plan.enrollment_id", read_only=True)

    class Meta:
        model = PlanReview
        fields = ["id", "patient", "stage", "note", "reviewed_by", "reviewed_at"]
        read_only_fields = fields


class PlanSummarySerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id", read_only=True)
    agreement_current = serializers.SerializerMethodField(
        help_text="The patient agreed to the plan as it stands now."
    )

    class Meta:
        model = TreatmentPlan
        fields = [
            "id",
            "patient",
            "summary",
            "review_due",
            "review_due_since",
            "review_due_reason",
            "last_reviewed_at",
            "last_reviewed_by",
            "patient_agreed_at",
            "agreement_current",
            "content_changed_at",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_agreement_current(self, obj: TreatmentPlan) -> bool:
        return obj.patient_agreed_at is not None and obj.patient_agreed_at >= obj.content_changed_at


class PlanSerializer(PlanSummarySerializer):
    goals = serializers.SerializerMethodField()
    comments = CommentSerializer(many=True, read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)

    class Meta(PlanSummarySerializer.Meta):
        fields = [*PlanSummarySerializer.Meta.fields, "goals", "comments", "reviews"]
        read_only_fields = fields

    @extend_schema_field(GoalSerializer(many=True))
    def get_goals(self, obj: TreatmentPlan) -> list[dict[str, Any]]:
        goals = obj.goals.prefetch_related("history").select_related("replaced_by")
        context = {**self.context, "progress": plan_progress(obj)}
        return list(GoalSerializer(goals, many=True, context=context).data)


class GoalInputSerializer(StrictSerializer):
    domain = serializers.ChoiceField(choices=GoalDomain.choices)
    description = serializers.CharField(max_length=500)
    metric = serializers.ChoiceField(choices=GoalMetric.choices)
    target_value = serializers.DecimalField(max_digits=6, decimal_places=2)
    due_date = BoundedDateField()
    instrument = serializers.CharField(
        max_length=32, required=False, default="", help_text="For questionnaire_score goals."
    )

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # The plan's patient (set by the view, or by PlanCreateSerializer's `patient`):
        # "today" is a date in their zone.
        errors = plan_services.goal_problems(
            enrollment=self.context.get("enrollment"),
            description=attrs.get("description"),
            metric=attrs.get("metric"),
            target_value=None if "metric" in self.unparsed else attrs.get("target_value"),
            due_date=attrs.get("due_date"),
            instrument=None if "metric" in self.unparsed else attrs.get("instrument", ""),
        )
        plan = self.context.get("plan")  # a goal added to a plan: the plan's rules too
        if plan is not None:
            errors.update(
                plan_services.plan_problems(
                    enrollment=plan.enrollment, goal_count=plan.goals.count() + 1
                )
            )
        return errors

    def to_goal(self) -> plan_services.GoalInput:
        return plan_services.GoalInput(**self.validated_data)


class PlanCreateSerializer(StrictSerializer):
    patient = IdField()
    summary = serializers.CharField(max_length=4000, allow_blank=True, required=False, default="")
    goals = GoalInputSerializer(many=True, required=False)

    def validate_patient(self, value: int) -> int:
        # Found before the goals parse (fields parse in order), so each goal's rules read
        # the patient's own day. Out of reach is None here and 404 in the view.
        context = cast(dict[str, Any], self.context)  # the goals read the root's context
        context["enrollment"] = (
            enrollments_visible_to(request_user(context["request"])).filter(id=value).first()
        )
        return value

    def validate_goals(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > plan_services.MAX_GOALS_PER_PLAN:
            raise serializers.ValidationError(f"At most {plan_services.MAX_GOALS_PER_PLAN} goals.")
        return value

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return plan_services.plan_problems(enrollment=self.context.get("enrollment"), creating=True)


class PlanUpdateSerializer(StrictSerializer):
    summary = serializers.CharField(max_length=4000, allow_blank=True)


class CommentInputSerializer(StrictSerializer):
    body = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    agrees = serializers.BooleanField(required=False, default=False)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return plan_services.plan_comment_problems(
            plan=self.context["plan"],
            author=request_user(self.context["request"]),
            body=attrs.get("body"),
            agrees=attrs.get("agrees"),
        )


class ReviewInputSerializer(StrictSerializer):
    note = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)


# --- views ------------------------------------------------------------------------------


class StaffWrites(IsClinician):
    """Everyone in reach reads; only staff write (a role check before any lookup)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return bool(request.user.is_authenticated)
        return super().has_permission(request, view)


class PlanFilter(filters.FilterSet):
    patient = patient_filter()
    review_due = filters.BooleanFilter(field_name="review_due")

    class Meta:
        model = TreatmentPlan
        fields = ["patient", "review_due"]


class PlanList(generics.ListAPIView):
    """Plans in reach (a patient: their own). POST writes a patient's plan (staff)."""

    serializer_class = PlanSummarySerializer
    permission_classes = [StaffWrites]
    filterset_class = PlanFilter
    queryset = TreatmentPlan.objects.none()

    def get_queryset(self) -> QuerySet[TreatmentPlan]:
        return plans_visible_to(request_user(self.request)).order_by("id")

    @extend_schema(request=PlanCreateSerializer, responses={201: PlanSerializer})
    def post(self, request: Request) -> Response:
        user = request_user(request)
        serializer = PlanCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        enrollment = visible_enrollment(user, serializer.validated_data["patient"])
        goals = [
            plan_services.GoalInput(**goal) for goal in serializer.validated_data.get("goals", [])
        ]
        plan = plan_services.plan_create(
            enrollment=enrollment,
            actor=user,
            summary=serializer.validated_data["summary"],
            goals=goals,
        )
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class PlanDetail(APIView):
    """The plan with each goal's history and progress, the comments and the reviews."""

    permission_classes = [StaffWrites]
    whole_patch_body = True  # the PATCH sets the summary: it must give one

    def _plan(self, request: Request, pk: int) -> TreatmentPlan:
        return generics.get_object_or_404(
            plans_visible_to(request_user(request)).select_related("enrollment"), pk=pk
        )

    @extend_schema(responses={200: PlanSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(PlanSerializer(self._plan(request, pk)).data)

    @extend_schema(request=PlanUpdateSerializer, responses={200: PlanSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        plan = self._plan(request, pk)
        serializer = PlanUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = plan_services.plan_update(
            plan=plan, actor=request_user(request), summary=serializer.validated_data["summary"]
        )
        return Response(PlanSerializer(plan).data)


class PlanGoals(APIView):
    """Add a goal to a plan (staff)."""

    permission_classes = [IsClinician]

    @extend_schema(request=GoalInputSerializer, responses={201: GoalSerializer})
    def post(self, request: Request, pk: int) -> Response:
        user = request_user(request)
        plan = generics.get_object_or_404(
            plans_visible_to(user).select_related("enrollment"), pk=pk
        )
        serializer = GoalInputSerializer(
            data=request.data, context={"enrollment": plan.enrollment, "plan": plan}
        )
        serializer.is_valid(raise_exception=True)
        goal = plan_services.goal_add(plan=plan, actor=user, goal=serializer.to_goal())
        return Response(
            GoalSerializer(goal, context={"progress": {goal.id: goal_progress_for(goal)}}).data,
            status=status.HTTP_201_CREATED,
        )


class PlanComments(generics.ListAPIView):
    """Comments on the plan. The patient agrees to the plan with `agrees: true`."""

    serializer_class = CommentSerializer
    queryset = PlanComment.objects.none()

    def _plan(self) -> TreatmentPlan:
        return generics.get_object_or_404(
            plans_visible_to(request_user(self.request)).select_related("enrollment"),
            pk=self.kwargs["pk"],
        )

    def get_queryset(self) -> QuerySet[PlanComment]:
        return self._plan().comments.all()

    @extend_schema(request=CommentInputSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        plan = self._plan()
        serializer = CommentInputSerializer(
            data=request.data, context={"request": request, "plan": plan}
        )
        serializer.is_valid(raise_exception=True)
        comment = plan_services.plan_comment_add(
            plan=plan, author=request_user(request), **serializer.validated_data
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class PlanReviewView(APIView):
    """Record a review of the plan (due at each stage change); clears `review_due`."""

    permission_classes = [IsClinician]

    @extend_schema(request=ReviewInputSerializer, responses={201: ReviewSerializer})
    def post(self, request: Request, pk: int) -> Response:
        user = request_user(request)
        plan = generics.get_object_or_404(
            plans_visible_to(user).select_related("enrollment"), pk=pk
        )
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = plan_services.plan_review_record(
            plan=plan, actor=user, **serializer.validated_data
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)
