"""Staff sign-in with lockout and optional TOTP, and refresh with reuse detection."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from backend.api import StrictSerializer, request_user
from backend.authentication import token_invalid, token_refused, token_revoked
from recovery.models import User
from recovery.selectors.access import may_set_up_second_factor, requires_second_factor
from recovery.services.tokens import refresh_reuse_revoke_family, tokens_issue

TokenPair = inline_serializer(
    "TokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()}
)


class LockedOut(exceptions.Throttled):
    default_detail = "Too many failed sign-ins. Try again later or ask your supervisor."
    default_code = "locked_out"


class LoginSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    otp = serializers.RegexField(
        r"^\d{6}$", required=False, help_text="The 6-digit code when two-factor is on."
    )


class BearerChallenge:
    """Sign-in views authenticate nobody, yet a refused sign-in is a 401 (with the
    challenge header), not DRF's fallback 403."""

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class Login(BearerChallenge, APIView):
    """Username and password (staff, and patients who set one). When the program
    requires two-factor for staff, also the TOTP code; staff who have not set up an
    authenticator yet get tokens that only reach `auth/totp/`."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_scope = "login"

    @extend_schema(request=LoginSerializer, responses={200: TokenPair})
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        http_request = request._request
        credentials = {"username": data["username"]}
        if AxesProxyHandler.is_locked(http_request, credentials):
            raise LockedOut()
        user = authenticate(http_request, username=data["username"], password=data["password"])
        if user is None:
            if AxesProxyHandler.is_locked(http_request, credentials):
                raise LockedOut()
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        assert isinstance(user, User)
        if not requires_second_factor(user):
            return Response(tokens_issue(user=user))
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            return Response(tokens_issue(user=user, otp_pending=True))
        if "otp" not in data:
            raise exceptions.AuthenticationFailed(
                "Enter the code from your authenticator.", code="otp_required"
            )
        if not device.verify_token(data["otp"]):
            user_login_failed.send(sender=__name__, credentials=credentials, request=http_request)
            raise exceptions.AuthenticationFailed("That code is not right.", code="otp_invalid")
        return Response(tokens_issue(user=user))


class Refresh(BearerChallenge, APIView):
    """Rotate a refresh token. Presenting one already used revokes its whole family."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=TokenRefreshSerializer, responses={200: TokenPair})
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            revoked = refresh_reuse_revoke_family(raw_refresh=_raw_refresh(request))
            raise (token_revoked() if revoked else token_refused(exc)) from exc
        except InvalidToken as exc:  # the token's user is gone
            refresh_reuse_revoke_family(raw_refresh=_raw_refresh(request))
            raise token_invalid() from exc
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


def _raw_refresh(request: Request) -> str:
    data = request.data
    return str(data.get("refresh", "")) if isinstance(data, dict) else ""


class TotpSetup(APIView):
    """Start two-factor setup: answers an otpauth:// URL for an authenticator app."""

    permission_classes = [IsAuthenticated]
    # Per user: a new setup resets django-otp's own back-off on the new device.
    throttle_scope = "totp"

    @extend_schema(
        request=None,
        responses={201: inline_serializer("TotpSetup", {"otpauth_url": serializers.CharField()})},
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        if not may_set_up_second_factor(user):
            raise exceptions.PermissionDenied("Two-factor sign-in is for staff accounts.")
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
        return Response({"otpauth_url": device.config_url}, status=status.HTTP_201_CREATED)


class TotpConfirmSerializer(StrictSerializer):
    otp = serializers.RegexField(r"^\d{6}$")


class TotpConfirm(APIView):
    """Finish setup with a first code; answers fresh tokens with full access."""

    permission_classes = [IsAuthenticated]
    # Per user: a new setup resets django-otp's own back-off on the new device.
    throttle_scope = "totp"

    @extend_schema(request=TotpConfirmSerializer, responses={200: TokenPair})
    def post(self, request: Request) -> Response:
        serializer = TotpConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request_user(request)
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None or not device.verify_token(serializer.validated_data["otp"]):
            raise serializers.ValidationError({"otp": ["That code is not right."]})
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=True).exclude(id=device.id).delete()
        return Response(tokens_issue(user=user))
