"""Part 2 consents, the accounting of disclosures, and the patient's own export."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import StrictModelSerializer, request_user
from recovery.api.common import (
    AwareDateTimeField,
    IsPatient,
    PatientWritesStaffReads,
    acting_user,
)
from recovery.models import Consent, Disclosure, ShareableEvent, SupportContact
from recovery.selectors.access import enrollment_for_patient_user, records_visible_to
from recovery.selectors.export import export_fhir_bundle, export_json
from recovery.services.audit import RequestMeta, audit_record
from recovery.services.consent import consent_problems, consent_revoke, consent_sign

ACCOUNTING_WINDOW = timedelta(days=3 * 365)


class OwnContactField(serializers.PrimaryKeyRelatedField):
    """One of the caller's own support contacts. Anyone else's answers exactly as an id
    that does not exist, so contact ids cannot be enumerated."""

    def get_queryset(self) -> QuerySet[SupportContact]:
        return records_visible_to(
            acting_user(self.context["request"]), SupportContact.objects.all()
        )


CONSENT_ELEMENTS = (
    "recipient",
    "events",
    "purpose",
    "expires_at",
    "revocation_acknowledged",
    "signature",
)


class ConsentSerializer(StrictModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id", read_only=True)
    recipient = OwnContactField()
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=ShareableEvent.choices), max_length=10
    )
    expires_at = AwareDateTimeField()
    revocation_acknowledged = serializers.BooleanField()
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = Consent
        fields = [
            "id",
            "patient",
            "disclosing_party",
            "recipient",
            "events",
            "may_name_program",
            "may_name_substance",
            "purpose",
            "expires_at",
            "revocation_acknowledged",
            "signature",
            "signed_at",
            "revoked_at",
            "in_force",
        ]
        read_only_fields = [
            "id",
            "patient",
            "disclosing_party",
            "signed_at",
            "revoked_at",
            "in_force",
        ]

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return consent_problems(**{key: attrs[key] for key in CONSENT_ELEMENTS if key in attrs})

    def get_in_force(self, obj: Consent) -> bool:
        return obj.revoked_at is None and obj.expires_at > timezone.now()


class ConsentList(generics.ListCreateAPIView):
    """Consents to tell a support contact about chosen events (42 CFR Part 2 §2.31).
    Every element is required: recipient, events, purpose, expiry, the acknowledged right
    to revoke, and a signature; the server dates it."""

    serializer_class = ConsentSerializer
    permission_classes = [PatientWritesStaffReads]
    queryset = Consent.objects.none()

    def get_queryset(self) -> QuerySet[Consent]:
        return records_visible_to(request_user(self.request), Consent.objects.all())

    def perform_create(self, serializer: Any) -> None:
        enrollment = enrollment_for_patient_user(request_user(self.request))
        serializer.instance = consent_sign(enrollment=enrollment, **serializer.validated_data)


class ConsentRevoke(APIView):
    """Revoke a consent. It takes effect at once, also for messages already queued."""

    permission_classes = [IsPatient]

    @extend_schema(request=None, responses={200: ConsentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        enrollment = enrollment_for_patient_user(request_user(request))
        consent = generics.get_object_or_404(Consent.objects.filter(enrollment=enrollment), pk=pk)
        return Response(ConsentSerializer(consent_revoke(consent=consent)).data)


class DisclosureSerializer(serializers.ModelSerializer):
    recipient = serializers.CharField(source="recipient_name")

    class Meta:
        model = Disclosure
        fields = [
            "id",
            "consent",
            "event",
            "recipient",
            "state",
            "created_at",
            "sent_at",
            "blocked_reason",
        ]


class MyDisclosures(generics.ListAPIView):
    """The accounting of disclosures (§2.25): every disclosure of the last 3 years."""

    serializer_class = DisclosureSerializer
    permission_classes = [IsPatient]
    queryset = Disclosure.objects.none()

    def get_queryset(self) -> QuerySet[Disclosure]:
        enrollment = enrollment_for_patient_user(request_user(self.request))
        return Disclosure.objects.filter(
            enrollment=enrollment, created_at__gte=timezone.now() - ACCOUNTING_WINDOW
        )


class MyExport(APIView):
    """Everything the backend holds about you, as JSON."""

    permission_classes = [IsPatient]
    kind = "json"

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        enrollment = enrollment_for_patient_user(user)
        if self.kind == "fhir":
            body = export_fhir_bundle(enrollment=enrollment)
        else:
            body = export_json(enrollment=enrollment)
        audit_record(
            actor=user,
            action="export",
            resource=f"export:{self.kind}",
            enrollment_ids=[enrollment.id],
            meta=RequestMeta.of(request._request),
        )
        return Response(body)


class MyFhirExport(MyExport):
    """Your check-ins as a FHIR R4 Bundle of QuestionnaireResponse resources."""

    kind = "fhir"
