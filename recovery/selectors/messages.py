"""Reads of the conversations between patients and their care teams.

Who may read which conversation is `recovery.selectors.access.shared_record_enrollment`;
the messages a staff member reads are noted for the audit trail (`records_visible_to`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from recovery.crisis import crisis_resources
from recovery.models import Conversation, Enrollment, Message, MessageAuthor, ReadMarker, Role, User
from recovery.selectors.access import (
    EnrollmentIds,
    conversation_enrollments_for_staff,
    records_visible_to,
)


def _from_the_other_side(user: User) -> Q:
    """The messages `user` has to read: the care team's and automatic answers for a
    patient, the patient's for staff."""
    if user.role == Role.PATIENT:
        return ~Q(author_kind=MessageAuthor.PATIENT)
    return Q(author_kind=MessageAuthor.PATIENT)


def conversation_messages(user: User, enrollment: Enrollment) -> QuerySet[Message]:
    """The messages of the patient's conversation, newest first; staff reads audited."""
    messages = Message.objects.filter(conversation__enrollment=enrollment).select_related("sender")
    return records_visible_to(user, messages, via="conversation__enrollment").order_by("-id")


def _last_read(user: User, enrollment: Enrollment) -> int:
    marker = (
        ReadMarker.objects.filter(conversation__enrollment=enrollment, reader=user)
        .values_list("last_read_id", flat=True)
        .first()
    )
    return marker or 0


def unread_count(user: User, enrollment: Enrollment) -> int:
    """Messages from the other side after the user's own read marker."""
    return (
        Message.objects.filter(
            conversation__enrollment=enrollment, id__gt=_last_read(user, enrollment)
        )
        .filter(_from_the_other_side(user))
        .count()
    )


def read_receipts(enrollment: Enrollment) -> list[dict[str, Any]]:
    """How far each reader has read: the patient and each staff member who opened it."""
    markers = (
        ReadMarker.objects.filter(conversation__enrollment=enrollment)
        .select_related("reader")
        .order_by("reader_id")
    )
    return [
        {
            "reader_id": m.reader_id,
            "name": m.reader.get_full_name() or m.reader.username,
            "role": m.reader.role,
            "last_read_id": m.last_read_id,
            "read_at": m.read_at,
        }
        for m in markers
    ]


def conversation_summary(user: User, enrollment: Enrollment) -> dict[str, Any]:
    """What every conversation shows: who it is with, the unread count, read receipts,
    the office hours and the crisis resources (a conversation is not a crisis line)."""
    program = enrollment.program
    conversation = Conversation.objects.filter(enrollment=enrollment).first()
    return {
        "patient": enrollment.id,
        "read_only": enrollment.status != "active",
        "unread": unread_count(user, enrollment),
        "last_message_at": conversation.last_message_at if conversation else None,
        "read_receipts": read_receipts(enrollment),
        "office_hours": {
            "days": list(program.office_days),
            "opens_at": program.office_opens_at,
            "closes_at": program.office_closes_at,
            "timezone": program.timezone,
        },
        "crisis_resources": crisis_resources(),
    }


def staff_conversations(user: User) -> QuerySet[Enrollment]:
    """The patients in a staff member's reach who have a conversation, with the count of
    the patient's messages this staff member has not read (`unread`), latest first."""
    marker = ReadMarker.objects.filter(conversation__enrollment=OuterRef("pk"), reader=user).values(
        "last_read_id"
    )[:1]
    last_read = Coalesce(Subquery(marker, output_field=IntegerField()), Value(0))
    return (
        conversation_enrollments_for_staff(user)
        .filter(conversation__isnull=False)
        .annotate(
            unread=Count(
                "conversation__messages",
                filter=Q(conversation__messages__author_kind=MessageAuthor.PATIENT)
                & Q(conversation__messages__id__gt=last_read),
            )
        )
        .order_by("-conversation__last_message_at", "-id")
    )


def unread_by_patient(user: User, enrollment_ids: EnrollmentIds) -> dict[int, int]:
    """For a staff member, how many of each patient's messages they have not read (one
    query; patients with none are left out)."""
    marker = ReadMarker.objects.filter(conversation=OuterRef("conversation"), reader=user).values(
        "last_read_id"
    )[:1]
    last_read = Coalesce(Subquery(marker, output_field=IntegerField()), Value(0))
    rows = (
        Message.objects.filter(
            conversation__enrollment_id__in=enrollment_ids, author_kind=MessageAuthor.PATIENT
        )
        .alias(last_read=last_read)
        .filter(id__gt=F("last_read"))
        .values("conversation__enrollment_id")
        .annotate(n=Count("id"))
        .values_list("conversation__enrollment_id", "n")
    )
    return dict(rows)
