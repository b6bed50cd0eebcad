"""The audit trail: supervisors query their program's; patients see who opened theirs."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import generics, permissions, serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import BoundedDateTimeFilter, IdFilter, IsPatient
from recovery.models import AuditEntry
from recovery.selectors.access import enrollment_for_patient_user, may_read_audit_trail
from recovery.selectors.audit import (
    AuditQuery,
    access_log_for_patient,
    audit_trail_filtered,
    audit_trail_for_supervisor,
)


class MayReadAuditTrail(permissions.BasePermission):
    message = "Only supervisors read the program's audit trail."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return may_read_audit_trail(request.user)


class AuditEntrySerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id", allow_null=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "actor",
            "actor_name",
            "actor_role",
            "patient",
            "action",
            "resource",
            "method",
            "path",
            "status_code",
            "ip_address",
            "user_agent",
            "at",
        ]

    def get_actor_name(self, obj: AuditEntry) -> str:
        return obj.actor.get_full_name() or obj.actor.username if obj.actor else ""


class AccessLogSerializer(serializers.ModelSerializer):
    """What a patient sees: who, in what role, did what, when."""

    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ["actor_name", "actor_role", "action", "resource", "at"]

    def get_actor_name(self, obj: AuditEntry) -> str:
        return obj.actor.get_full_name() or obj.actor.username if obj.actor else ""


class AuditFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="enrollment_id")
    actor = IdFilter(field_name="actor_id")
    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices)
    since = BoundedDateTimeFilter(field_name="at", lookup_expr="gte")
    until = BoundedDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["patient", "actor", "action", "since", "until"]

    def filter_queryset(self, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        # Parsing is the FilterSet's; what each filter means is the selector's, shared
        # with the dashboard's page of the trail.
        data = self.form.cleaned_data
        query = AuditQuery(
            patient_id=data.get("patient"),
            actor_id=data.get("actor"),
            action=data.get("action") or "",
            since=data.get("since"),
            until=data.get("until"),
        )
        return audit_trail_filtered(queryset, query)


class AuditTrail(generics.ListAPIView):
    """The program's audit trail, newest first (supervisors)."""

    serializer_class = AuditEntrySerializer
    permission_classes = [MayReadAuditTrail]
    filterset_class = AuditFilter
    queryset = AuditEntry.objects.none()

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return audit_trail_for_supervisor(user=request_user(self.request))


class MyAccessLog(generics.ListAPIView):
    """Who on the staff opened your record, newest first."""

    serializer_class = AccessLogSerializer
    permission_classes = [IsPatient]
    queryset = AuditEntry.objects.none()

    def get_queryset(self) -> QuerySet[AuditEntry]:
        enrollment = enrollment_for_patient_user(request_user(self.request))
        return access_log_for_patient(enrollment=enrollment)
