"""Devices, the inbox and notification preferences."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import (
    BoundedDateTimeField,
    LocalTimeField,
    StrictModelSerializer,
    StrictSerializer,
    SyncPagination,
    request_user,
)
from backend.timezones import known_timezones
from notifications import selectors, services
from notifications.kinds import kind_choices
from notifications.models import AddressKind, Device, Notification, Platform


class DeviceSerializer(StrictModelSerializer):
    address_kind = serializers.ChoiceField(choices=AddressKind.choices, default=AddressKind.TOKEN)
    platform = serializers.ChoiceField(choices=Platform.choices)

    class Meta:
        model = Device
        fields = [
            "id",
            "address",
            "address_kind",
            "platform",
            "app_version",
            "is_active",
            "last_seen_at",
        ]
        read_only_fields = ["id", "is_active", "last_seen_at"]
        # No uniqueness check from the model's constraint: an address someone else
        # registered is not an error, device_register moves it to the caller.
        validators: list[Any] = []


class DeviceRegister(APIView):
    """Register or refresh this device's push address (an FCM registration token or a
    Firebase Installation ID). Registering an address another user had moves it here."""

    @extend_schema(request=DeviceSerializer, responses={200: DeviceSerializer})
    def post(self, request: Request) -> Response:
        serializer = DeviceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = services.device_register(
            user_id=request_user(request).id, **serializer.validated_data
        )
        return Response(DeviceSerializer(device).data, status=status.HTTP_200_OK)


class DeviceUnregisterSerializer(StrictSerializer):
    address = serializers.CharField(max_length=4096)
    address_kind = serializers.ChoiceField(choices=AddressKind.choices, default=AddressKind.TOKEN)


class DeviceUnregister(APIView):
    @extend_schema(request=DeviceUnregisterSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        serializer = DeviceUnregisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.device_unregister(user_id=request_user(request).id, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "payload",
            "urgent",
            "created_at",
            "sent_at",
            "read_at",
        ]


class SyncSerializer(serializers.Serializer):  # query parameters: page ones pass too
    updated_since = BoundedDateTimeField(
        required=False,
        help_text="Only what changed at or after this instant: sent, or read (on any "
        "device). Pass the `synced_at` of the previous sync.",
    )


@extend_schema_view(get=extend_schema(parameters=[SyncSerializer]))
class Inbox(generics.ListAPIView):
    """Everything sent to you, newest first. To sync, pass `updated_since`, follow
    `next_page` to the end, and keep the response's `synced_at` for the next sync."""

    serializer_class = NotificationSerializer
    pagination_class = SyncPagination
    queryset = Notification.objects.none()

    def get_queryset(self) -> QuerySet[Notification]:
        query = SyncSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.inbox_for(
            user_id=request_user(self.request).id,
            updated_since=query.validated_data.get("updated_since"),
        )


class InboxItem(generics.RetrieveAPIView):
    """One notification, by the opaque id a push carried."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()

    def get_queryset(self) -> QuerySet[Notification]:
        return selectors.inbox_for(user_id=request_user(self.request).id)


class MarkRead(APIView):
    @extend_schema(request=None, responses={200: NotificationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        notification = generics.get_object_or_404(
            selectors.inbox_for(user_id=request_user(request).id), pk=pk
        )
        notification = services.notification_mark_read(notification=notification)
        return Response(NotificationSerializer(notification).data)


class ReceiptSerializer(StrictSerializer):
    channel = serializers.ChoiceField(
        choices=sorted(services.RECEIPT_FIELDS),
        default="push",
        help_text="How the notification reached the device: a push (the default), or the "
        "websocket (the same as an ack on the socket).",
    )


class MarkReceived(APIView):
    """The app confirms a notification reached the device: call it when a push arrives
    (in the background handler too), so the clinic knows its messages get through. Your
    own notifications only; any other id answers 404. Repeating it changes nothing."""

    @extend_schema(request=ReceiptSerializer, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        serializer = ReceiptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        found = services.notifications_receive(
            user_id=request_user(request).id, ids=[pk], **serializer.validated_data
        )
        if not found:
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class UnreadCount(APIView):
    @extend_schema(
        responses={200: inline_serializer("UnreadCount", {"unread": serializers.IntegerField()})}
    )
    def get(self, request: Request) -> Response:
        return Response({"unread": selectors.unread_count(user_id=request_user(request).id)})


class PreferenceSerializer(StrictSerializer):
    muted_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=[]), max_length=20, default=list
    )
    quiet_start = LocalTimeField(allow_null=True, required=False, default=None)
    quiet_end = LocalTimeField(allow_null=True, required=False, default=None)
    timezone = serializers.CharField(max_length=64, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The kinds are registered by the apps that send them, after this module is read.
        kind = self.fields["muted_kinds"].child  # type: ignore[attr-defined]
        assert isinstance(kind, serializers.ChoiceField)
        kind.choices = kind_choices()

    def validate_timezone(self, value: str) -> str:
        if value not in known_timezones():
            raise serializers.ValidationError("Not an IANA time zone.")
        return value

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        if {"quiet_start", "quiet_end"} & self.unparsed:
            return {}
        if (attrs.get("quiet_start") is None) != (attrs.get("quiet_end") is None):
            return {"quiet_end": ["Give both ends of quiet hours."]}
        return {}


class Preferences(APIView):
    """Opt out of kinds of notification (safety alerts cannot be muted); quiet hours in
    local time hold back non-urgent pushes."""

    @extend_schema(responses={200: PreferenceSerializer})
    def get(self, request: Request) -> Response:
        pref = selectors.preference_for(user_id=request_user(request).id)
        return Response(PreferenceSerializer(pref).data)

    @extend_schema(request=PreferenceSerializer, responses={200: PreferenceSerializer})
    def put(self, request: Request) -> Response:
        serializer = PreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        pref = services.preference_set(
            user_id=request_user(request).id,
            muted_kinds=data["muted_kinds"],
            quiet_start=data["quiet_start"],
            quiet_end=data["quiet_end"],
            timezone_name=data.get("timezone"),
        )
        return Response(PreferenceSerializer(pref).data)
