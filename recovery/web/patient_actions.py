"""What a counselor does from a patient's page: assign an exercise, set the check-in
schedule, record a drug screen, change the stage or level of care (confirming what the
record suggests) or dismiss the suggestion, add a medication or end one. Each validates
with the API's own serializer and writes through the same service as the API, on the
same access rules (`visible_enrollment`: out of reach is a 404) and with the same audit
(the audit middleware writes the entry for the patient noted).

Forms post and redirect back to the page (Post/Redirect/Get) with a message; a refused
form shows the page again (400) with each error beside its field and nothing saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from backend.errors import ServiceError
from recovery.api.care import AssignmentSerializer
from recovery.api.checkins import ScheduleSerializer
from recovery.api.medications import MedicationSerializer, MedicationUpdateSerializer
from recovery.api.patients import ChangeSerializer
from recovery.api.screens import ScreenInputSerializer
from recovery.api.suggestion import DismissSerializer
from recovery.models import (
    Enrollment,
    ScreenStatus,
    ScreenSubstance,
)
from recovery.selectors.access import visible_enrollment
from recovery.selectors.plan import medications_visible_to
from recovery.services import medications as medication_services
from recovery.services import screens as screen_services
from recovery.services.care import exercise_assign
from recovery.services.enrollment import enrollment_change
from recovery.services.schedules import checkin_schedule_set
from recovery.services.suggestion import suggestion_dismiss
from recovery.web.patient_forms import PostedForm
from recovery.web.views import _user, patient_page_response, staff_required

# What the browser adds to every form; the serializers refuse keys they do not know.
FORM_ONLY = ("csrfmiddlewaretoken", "next")


def _fields(post: QueryDict, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The posted fields as the API would receive them in JSON (lists where named)."""
    data: dict[str, Any] = {k: v for k, v in post.items() if k not in FORM_ONLY}
    for name in lists:
        data[name] = post.getlist(name)
    return data


def _chosen(post: QueryDict) -> dict[str, Any]:
    """The posted fields, leaving out a choice left empty (JSON would leave it out)."""
    return {k: v for k, v in _fields(post).items() if v != "" or k == "reason"}


def _done(request: HttpRequest, enrollment: Enrollment, message: str, anchor: str) -> HttpResponse:
    """Back to the patient's page. The message travels in the messages cookie (signed, not
    encrypted), next to a URL naming the patient: it names no clinical fact (an outcome,
    a level of care, an exercise); the page itself shows what was saved."""
    messages.success(request, message)
    return redirect(reverse("dashboard:patient", args=[enrollment.id]) + f"#{anchor}")


def _refused(
    request: HttpRequest, enrollment: Enrollment, name: str, errors: Mapping[str, Any]
) -> HttpResponse:
    posted = PostedForm.of(name, errors, request.POST)
    return patient_page_response(request, enrollment, posted=posted, status=400)


def _service_errors(exc: ServiceError) -> dict[str, list[str]]:
    return dict(exc.fields) if exc.fields else {"": [exc.message]}


@require_POST
@staff_required
def assign_exercise(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    data = {**_fields(request.POST), "patient": enrollment.id}
    serializer = AssignmentSerializer(data=data, context={"request": request})
    if not serializer.is_valid():
        return _refused(request, enrollment, "exercise", serializer.errors)
    try:
        exercise_assign(
            enrollment=enrollment,
            exercise=serializer.validated_data["exercise"],
            actor=user,
            note=serializer.validated_data.get("note", ""),
        )
    except ServiceError as exc:
        return _refused(request, enrollment, "exercise", _service_errors(exc))
    return _done(request, enrollment, "Exercise assigned.", "exercises")


@require_POST
@staff_required
def set_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    enrollment = visible_enrollment(_user(request), pk)
    data = _fields(request.POST, lists=("days_of_week",))
    # An unticked checkbox is not posted: the form says "not paused".
    data["paused"] = request.POST.get("paused") == "on"
    serializer = ScheduleSerializer(data=data)
    if not serializer.is_valid():
        return _refused(request, enrollment, "schedule", serializer.errors)
    try:
        checkin_schedule_set(enrollment=enrollment, **serializer.validated_data)
    except ServiceError as exc:
        return _refused(request, enrollment, "schedule", _service_errors(exc))
    return _done(request, enrollment, "Check-in schedule saved.", "schedule")


def _screen_results(post: QueryDict) -> list[dict[str, Any]]:
    """One select per substance ("" for not tested) and a "prescribed" box beside it."""
    results = []
    for substance in ScreenSubstance.values:
        result = post.get(f"result_{substance}", "")
        if result:
            results.append(
                {
                    "substance": substance,
                    "result": result,
                    "prescribed": post.get(f"prescribed_{substance}") == "on",
                }
            )
    return results


@require_POST
@staff_required
def record_screen(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    post = request.POST
    data: dict[str, Any] = {
        "patient": enrollment.id,
        "collected_on": post.get("collected_on", ""),
        "method": post.get("method", ""),
        "status": post.get("status", ScreenStatus.COMPLETED),
        "observed": {"yes": True, "no": False}.get(post.get("observed", "")),
        "note": post.get("note", ""),
    }
    results = _screen_results(post)
    if results or data["status"] == ScreenStatus.COMPLETED:
        data["results"] = results
    serializer = ScreenInputSerializer(data=data, context={"request": request})
    if not serializer.is_valid():
        return _refused(request, enrollment, "screen", serializer.errors)
    valid = dict(serializer.validated_data)
    valid.pop("patient")
    try:
        screen_services.screen_record(
            enrollment=enrollment,
            actor=user,
            results=[screen_services.ResultInput(**r) for r in valid.pop("results", [])],
            **valid,
        )
    except ServiceError as exc:
        return _refused(request, enrollment, "screen", _service_errors(exc))
    return _done(request, enrollment, "Drug screen recorded.", "screen")


@require_POST
@staff_required
def change_care(request: HttpRequest, pk: int) -> HttpResponse:
    """A new stage or level of care, as the suggestion proposes or as the counselor picks."""
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    serializer = ChangeSerializer(data=_chosen(request.POST), context={"enrollment": enrollment})
    if not serializer.is_valid():
        return _refused(request, enrollment, "care", serializer.errors)
    try:
        enrollment_change(enrollment=enrollment, actor=user, **serializer.validated_data)
    except ServiceError as exc:
        return _refused(request, enrollment, "care", _service_errors(exc))
    return _done(request, enrollment, "Stage and level of care saved.", "care")


@require_POST
@staff_required
def dismiss_suggestion(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    serializer = DismissSerializer(data=_chosen(request.POST))
    if not serializer.is_valid():
        return _refused(request, enrollment, "care", serializer.errors)
    try:
        suggestion_dismiss(enrollment=enrollment, actor=user, **serializer.validated_data)
    except ServiceError as exc:
        return _refused(request, enrollment, "care", _service_errors(exc))
    return _done(request, enrollment, "Suggestion dismissed.", "care")


@require_POST
@staff_required
def add_medication(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    # Fields left empty are left out, as a JSON client would (the category is then
    # the one the name implies).
    data = {k: v for k, v in _fields(request.POST).items() if v != ""}
    serializer = MedicationSerializer(
        data={**data, "patient": enrollment.id}, context={"request": request}
    )
    if not serializer.is_valid():
        return _refused(request, enrollment, "medication", serializer.errors)
    valid = dict(serializer.validated_data)
    valid.pop("enrollment_id")
    try:
        medication_services.medication_add(enrollment=enrollment, actor=user, **valid)
    except ServiceError as exc:
        return _refused(request, enrollment, "medication", _service_errors(exc))
    return _done(request, enrollment, "Medication added.", "medications")


@require_POST
@staff_required
def end_medication(request: HttpRequest, pk: int, medication_id: int) -> HttpResponse:
    """Set (or clear, left empty) the last day of a medication."""
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    medication = (
        medications_visible_to(user)
        .filter(id=medication_id, enrollment=enrollment)
        .select_related("enrollment")
        .first()
    )
    if medication is None:
        raise Http404
    serializer = MedicationUpdateSerializer(
        data={"end_date": request.POST.get("end_date") or None},
        partial=True,
        context={"request": request, "medication": medication},
    )
    if not serializer.is_valid():
        return _refused(request, enrollment, "medication_end", serializer.errors)
    try:
        medication_services.medication_update(
            medication=medication, actor=user, data=dict(serializer.validated_data)
        )
    except ServiceError as exc:
        return _refused(request, enrollment, "medication_end", _service_errors(exc))
    return _done(request, enrollment, "Medication end date saved.", "medications")
