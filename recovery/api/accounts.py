"""Sign-in: staff with a password, patients with a one-time enrollment code; logout."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import Token

from backend.api import request_user
from backend.errors import NotAllowed
from notifications.services import device_unregister
from recovery.api.common import StrictSerializer
from recovery.models import Language, Role
from recovery.services.enrollment import enrollment_code_redeem, patient_language_set
from recovery.services.tokens import tokens_issue, tokens_logout


class RedeemSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32)
    password = serializers.CharField(max_length=128, required=False, min_length=10, write_only=True)


TokensSerializer = inline_serializer(
    "PatientTokens",
    {
        "username": serializers.CharField(),
        "access": serializers.CharField(),
        "refresh": serializers.CharField(),
    },
)


class RedeemEnrollmentCode(APIView):
    """The app exchanges a one-time enrollment code for the patient's account and tokens.
    The dashboard's QR code of a code holds `iop://redeem?code=<code>`: post its `code`."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_scope = "enrollment_code"

    @extend_schema(request=RedeemSerializer, responses={201: TokensSerializer})
    def post(self, request: Request) -> Response:
        serializer = RedeemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        patient = enrollment_code_redeem(**serializer.validated_data)
        # A sign-in like any other: a family, so logout can end it (services/tokens.py).
        tokens = tokens_issue(user=patient)
        return Response({"username": patient.username, **tokens}, status=status.HTTP_201_CREATED)


class LogoutSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=4096)
    device_address = serializers.CharField(max_length=4096, required=False)
    device_address_kind = serializers.ChoiceField(
        choices=["token", "fid"], required=False, default="token"
    )


class Logout(APIView):
    """End this sign-in (its refresh and access tokens stop working at once), unregister
    this device, close this user's sockets. Always 204 for a signed-in caller, even with
    an expired or already used refresh token (the latter ends its family, as a reuse)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=LogoutSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request_user(request)
        access = request.auth if isinstance(request.auth, Token) else None
        # Never refused for a stale refresh token: the sign-in that asked ends regardless.
        tokens_logout(
            user_id=user.id,
            raw_refresh=data["refresh"],
            access_claims=access.payload if access is not None else None,
        )
        if data.get("device_address"):
            device_unregister(
                user_id=user.id,
                address=data["device_address"],
                address_kind=data["device_address_kind"],
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


ME_RESPONSE = inline_serializer(
    "Me",
    {
        "id": serializers.IntegerField(),
        "username": serializers.CharField(),
        "first_name": serializers.CharField(),
        "role": serializers.ChoiceField(choices=Role.choices),
        "program": serializers.IntegerField(allow_null=True),
        "patient": serializers.IntegerField(allow_null=True),
        "language": serializers.ChoiceField(choices=Language.choices, allow_null=True),
    },
)


class MeUpdateSerializer(StrictSerializer):
    language = serializers.ChoiceField(choices=Language.choices)


class Me(APIView):
    @extend_schema(responses={200: ME_RESPONSE})
    def get(self, request: Request) -> Response:
        return Response(_me(request_user(request)))

    @extend_schema(request=MeUpdateSerializer, responses={200: ME_RESPONSE})
    def patch(self, request: Request) -> Response:
        """A patient sets their language: the API, pushes and questionnaires follow it."""
        user = request_user(request)
        enrollment = getattr(user, "enrollment", None) if user.role == Role.PATIENT else None
        if enrollment is None:
            raise NotAllowed(message=_("Only a patient has a language setting here."))
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        language = serializer.validated_data["language"]
        patient_language_set(enrollment=enrollment, language=language)
        translation.activate(language)  # this answer already in the new language
        return Response(_me(user))


def _me(user: Any) -> dict[str, Any]:
    enrollment = getattr(user, "enrollment", None) if user.role == Role.PATIENT else None
    return {
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "role": user.role,
        "program": user.program_id,
        "patient": enrollment.id if enrollment else None,
        "language": enrollment.language if enrollment else None,
    }
