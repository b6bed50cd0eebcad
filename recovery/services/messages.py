"""Secure messages between a patient and their care team.

A message is stored (encrypted at rest), then announced through `notify` to the other
side: live over the websocket for whoever is connected, a push with the kind's generic
text otherwise. The notification carries ids only; the text is read over the API, where
every staff read is audited. A patient who writes outside the program's office hours gets
one automatic answer per closed spell, saying when the team will read it and where help is
right now. Messages stay inside the program: they are never disclosures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from backend.errors import NotAllowed, ServiceError
from backend.timezones import as_zone
from notifications.services import notify
from recovery.models import (
    MAX_MESSAGE_LENGTH,
    Conversation,
    Enrollment,
    EnrollmentStatus,
    Message,
    MessageAuthor,
    Program,
    ReadMarker,
    Role,
    User,
)
from recovery.notification_kinds import NotificationKind, care_teams, program_supervisors
from recovery.office_hours import next_opening
from recovery.selectors.access import may_change_program_settings

CLOSED_MESSAGE = gettext_lazy(
    "Your program has ended, so this conversation is read-only. "
    "For help right now, call or text 988."
)
# The crisis lines are in every automatic answer: a message is not a crisis line.
AFTER_HOURS_HELP = gettext_lazy(
    "If you need help right now, call or text 988 (Suicide & Crisis Lifeline, in English "
    "or Spanish), or call the SAMHSA National Helpline at 1-800-662-4357 (free, "
    "confidential, 24/7). In an emergency, call 911."
)


@dataclass
class SendResult:
    message: Message
    automatic_answer: Message | None = None


def conversation_get_or_create(*, enrollment: Enrollment) -> Conversation:
    conversation, _created = Conversation.objects.get_or_create(
        enrollment=enrollment, defaults={"created_at": timezone.now()}
    )
    return conversation


def _author_kind(sender: User) -> str:
    return MessageAuthor.PATIENT if sender.role == Role.PATIENT else MessageAuthor.STAFF


def _clean_body(body: str) -> str:
    text = body.strip()
    if not text:
        raise ServiceError({"body": [_("Write a message first.")]})
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ServiceError({"body": [_("At most %(n)d characters.") % {"n": MAX_MESSAGE_LENGTH}]})
    return text


def message_send(
    *, enrollment: Enrollment, sender: User, body: str, now: datetime | None = None
) -> SendResult:
    """Store a message from the patient or a member of their care team (the caller has
    checked `shared_record_enrollment`) and announce it to the other side."""
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise NotAllowed(message=str(CLOSED_MESSAGE))
    text = _clean_body(body)
    now = now or timezone.now()
    with transaction.atomic():
        conversation = conversation_get_or_create(enrollment=enrollment)
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        message = Message.objects.create(
            conversation=conversation,
            author_kind=_author_kind(sender),
            sender=sender,
            body=text,
            sent_at=now,
        )
        conversation.last_message_at = now
        conversation.save(update_fields=["last_message_at"])
        _advance_marker(conversation=conversation, reader=sender, up_to=message.id, now=now)
        result = SendResult(message=message)
        if message.author_kind == MessageAuthor.PATIENT:
            # Stored text: in the patient's language, whichever connection sent it.
            with translation.override(enrollment.language):
                result.automatic_answer = _answer_after_hours(conversation, enrollment, now)
        _announce(enrollment, message, exclude=sender.id)
        if result.automatic_answer is not None:
            _announce(enrollment, result.automatic_answer, exclude=None)
    return result


def _answer_after_hours(
    conversation: Conversation, enrollment: Enrollment, now: datetime
) -> Message | None:
    """The automatic answer to a message written while the office is closed: once per
    closed spell (a patient writing three messages one night gets one answer)."""
    program = enrollment.program
    opening = next_opening(program, now)
    if opening == now:
        return None
    last = (
        Message.objects.filter(conversation=conversation, author_kind=MessageAuthor.AUTOMATIC)
        .order_by("-id")
        .first()
    )
    if last is not None and next_opening(program, last.sent_at) == opening:
        return None
    if opening is None:
        when = _("Your care team will read it as soon as they are back.")
    else:
        local = opening.astimezone(as_zone(program.timezone))
        when = _("Your care team will read it from %(when)s.") % {
            # Translators: a PHP-style date format (Django's `date` filter) for the day and
            # time the office opens, for example "Monday, March 9, 9:00 AM EDT".
            "when": dateformat.format(local, pgettext("office opens", "l, F j, g:i A T"))
        }
    text = " ".join(
        [
            _("Thank you for your message. The office is closed right now."),
            when,
            str(AFTER_HOURS_HELP),
        ]
    )
    return Message.objects.create(
        conversation=conversation,
        author_kind=MessageAuthor.AUTOMATIC,
        sender=None,
        body=text,
        sent_at=now,
    )


def _staff_of(enrollment: Enrollment) -> set[int]:
    team = care_teams([enrollment.id]).get(enrollment.id, set())
    return team | program_supervisors([enrollment.program_id]).get(enrollment.program_id, set())


def _announce(enrollment: Enrollment, message: Message, *, exclude: int | None) -> None:
    """Tell the other side (and the rest of the team) that a message is there: ids only,
    the text is read over the API."""
    people = _staff_of(enrollment) | {enrollment.patient_id}
    people.discard(exclude)
    if not people:
        return
    notify(
        recipients=sorted(people),
        kind=NotificationKind.CARE_MESSAGE,
        key=f"care-message:{message.id}",
        payload={"enrollment_id": enrollment.id, "message_id": message.id},
        # The patient's own automatic answer arrives while they are in the app.
        push=message.author_kind != MessageAuthor.AUTOMATIC,
    )


def _advance_marker(*, conversation: Conversation, reader: User, up_to: int, now: datetime) -> bool:
    """Move the reader's marker forward to `up_to` (never back); whether it moved."""
    marker, created = ReadMarker.objects.get_or_create(
        conversation=conversation, reader=reader, defaults={"last_read_id": up_to, "read_at": now}
    )
    if created:
        return True
    moved = ReadMarker.objects.filter(pk=marker.pk, last_read_id__lt=up_to).update(
        last_read_id=Greatest(F("last_read_id"), up_to), read_at=now
    )
    return bool(moved)


def messages_mark_read(
    *, enrollment: Enrollment, reader: User, up_to: int, now: datetime | None = None
) -> ReadMarker:
    """The reader has seen every message up to `up_to` (a message id of this conversation).
    Read receipts go to the other side, to whoever is connected (never a push)."""
    now = now or timezone.now()
    conversation = conversation_get_or_create(enrollment=enrollment)
    last = conversation.messages.filter(id__lte=up_to).order_by("-id").values_list("id", flat=True)
    newest = last.first()
    if newest is None:
        raise ServiceError({"up_to": [_("No message of this conversation has this id.")]})
    with transaction.atomic():
        moved = _advance_marker(conversation=conversation, reader=reader, up_to=newest, now=now)
        marker = ReadMarker.objects.get(conversation=conversation, reader=reader)
        if moved:
            is_patient = reader.role == Role.PATIENT
            others = _staff_of(enrollment) if is_patient else {enrollment.patient_id}
            others.discard(reader.id)
            if others:
                notify(
                    recipients=sorted(others),
                    kind=NotificationKind.MESSAGES_READ,
                    key=f"messages-read:{conversation.id}:{reader.id}:{marker.last_read_id}",
                    payload={
                        "enrollment_id": enrollment.id,
                        "reader_id": reader.id,
                        "last_read_id": marker.last_read_id,
                    },
                    push=False,
                )
    return marker


def office_hours_set(
    *, program: Program, actor: User, days: list[int], opens_at: time, closes_at: time
) -> Program:
    """When the care team reads messages, on the clinic's wall: supervisors decide."""
    if not may_change_program_settings(actor, program.id):
        raise NotAllowed(message="Only supervisors change the program's settings.")
    if closes_at <= opens_at:
        raise ServiceError({"closes_at": ["Must be after opens_at."]})
    program.office_days = sorted(set(days))
    program.office_opens_at = opens_at
    program.office_closes_at = closes_at
    program.save(update_fields=["office_days", "office_opens_at", "office_closes_at"])
    return program
