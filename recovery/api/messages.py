"""Secure messages with the care team: the patient at `me/conversation/`, staff at
`patients/<id>/conversation/` (the care team and the program's supervisors)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import LocalTimeField, StrictPageSize
from recovery.api.common import (
    BoundedListField,
    IdField,
    IsClinician,
    IsPatient,
    StrictSerializer,
    acting_user,
)
from recovery.api.monitoring import StaffReadSupervisorsChange
from recovery.models import MAX_MESSAGE_LENGTH, Enrollment, Message, Program
from recovery.selectors.access import shared_record_enrollment
from recovery.selectors.messages import (
    conversation_messages,
    conversation_summary,
    staff_conversations,
)
from recovery.services.messages import message_send, messages_mark_read, office_hours_set


class MessageCursor(StrictPageSize, CursorPagination):
    """Newest first; `next` pages back in time, and stays right while messages arrive."""

    ordering = "-id"
    page_size = 30
    max_page_size = 100


class MessageSerializer(serializers.ModelSerializer):
    sender_name = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "author_kind", "sender", "sender_name", "body", "sent_at"]
        read_only_fields = fields

    def get_sender_name(self, message: Message) -> str:
        sender = message.sender
        if sender is None:
            return ""
        return sender.get_full_name() or sender.username


class MessageWriteSerializer(StrictSerializer):
    body = serializers.CharField(max_length=MAX_MESSAGE_LENGTH, trim_whitespace=True)


class MarkReadSerializer(StrictSerializer):
    up_to = IdField(help_text="The newest message id the reader has seen.")


def _enrollment(request: Request, kwargs: dict[str, Any]) -> Enrollment:
    return shared_record_enrollment(acting_user(request), kwargs.get("pk"))


class ConversationView(APIView):
    """The conversation's state: unread count, read receipts, office hours, crisis lines."""

    @extend_schema(responses={200: serializers.DictField()})
    def get(self, request: Request, pk: int | None = None) -> Response:
        enrollment = _enrollment(request, {"pk": pk})
        return Response(conversation_summary(acting_user(request), enrollment))


class MessageList(generics.ListAPIView):
    """GET: the messages, newest first, a cursor page at a time. POST: write one (text
    only, rate limited); a message outside office hours gets an automatic answer."""

    serializer_class = MessageSerializer
    pagination_class = MessageCursor
    throttle_scope = "messages"
    filterset_class = None

    def get_throttles(self) -> list[Any]:
        return super().get_throttles() if self.request.method == "POST" else []

    def get_queryset(self) -> Any:
        user = acting_user(self.request)
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        return conversation_messages(user, _enrollment(self.request, self.kwargs))

    @extend_schema(
        request=MessageWriteSerializer,
        responses={
            201: inline_serializer(
                "MessageSent",
                {
                    "message": MessageSerializer(),
                    "automatic_answer": MessageSerializer(allow_null=True),
                },
            )
        },
    )
    def post(self, request: Request, pk: int | None = None) -> Response:
        enrollment = _enrollment(request, {"pk": pk})
        serializer = MessageWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = message_send(
            enrollment=enrollment,
            sender=acting_user(request),
            body=serializer.validated_data["body"],
        )
        answer = result.automatic_answer
        return Response(
            {
                "message": MessageSerializer(result.message).data,
                "automatic_answer": MessageSerializer(answer).data if answer else None,
            },
            status=status.HTTP_201_CREATED,
        )


class ConversationRead(APIView):
    """The reader has seen every message up to `up_to`: a read receipt for the other side."""

    @extend_schema(
        request=MarkReadSerializer,
        responses={200: serializers.DictField()},
    )
    def post(self, request: Request, pk: int | None = None) -> Response:
        enrollment = _enrollment(request, {"pk": pk})
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = acting_user(request)
        messages_mark_read(
            enrollment=enrollment, reader=user, up_to=serializer.validated_data["up_to"]
        )
        return Response(conversation_summary(user, enrollment))


class StaffConversationList(APIView):
    """Staff: the conversations of the patients in reach, with their own unread counts."""

    permission_classes = [IsClinician]

    @extend_schema(responses={200: serializers.DictField()})
    def get(self, request: Request) -> Response:
        rows = [
            {
                "patient": e.id,
                "name": e.patient.get_full_name() or e.patient.username,
                "unread": e.unread,  # type: ignore[attr-defined]
                "last_message_at": e.conversation.last_message_at,
            }
            for e in staff_conversations(acting_user(request)).select_related("conversation")[:200]
        ]
        return Response({"unread": sum(r["unread"] for r in rows), "conversations": rows})


# The patient's own conversation: staff have none (403, as on every `me/` endpoint).
class MyConversation(ConversationView):
    permission_classes = [IsPatient]


class MyMessageList(MessageList):
    permission_classes = [IsPatient]


class MyConversationRead(ConversationRead):
    permission_classes = [IsPatient]


class OfficeHoursSerializer(StrictSerializer):
    days = BoundedListField(
        child=serializers.IntegerField(min_value=1, max_value=7), max_length=7, min_length=0
    )
    opens_at = LocalTimeField()
    closes_at = LocalTimeField()
    timezone = serializers.CharField(read_only=True)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        if {"opens_at", "closes_at"} & self.unparsed:
            return {}
        if attrs["closes_at"] <= attrs["opens_at"]:
            return {"closes_at": ["Must be after opens_at."]}
        return {}


def _office_hours(program: Program) -> dict[str, Any]:
    return {
        "days": list(program.office_days),
        "opens_at": program.office_opens_at,
        "closes_at": program.office_closes_at,
        "timezone": program.timezone,
    }


class OfficeHoursView(APIView):
    """When the care team reads messages (ISO weekdays, wall times in the program's zone):
    staff read, supervisors change. A message outside them gets the automatic answer."""

    permission_classes = [StaffReadSupervisorsChange]

    @extend_schema(responses={200: OfficeHoursSerializer})
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        assert user.program is not None  # IsClinician
        return Response(OfficeHoursSerializer(_office_hours(user.program)).data)

    @extend_schema(request=OfficeHoursSerializer, responses={200: OfficeHoursSerializer})
    def put(self, request: Request) -> Response:
        user = acting_user(request)
        assert user.program is not None
        serializer = OfficeHoursSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        program = office_hours_set(program=user.program, actor=user, **serializer.validated_data)
        return Response(OfficeHoursSerializer(_office_hours(program)).data)
