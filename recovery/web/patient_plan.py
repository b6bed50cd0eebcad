"""The treatment plan from a patient's page: add a goal (writing the plan with it when the
patient has none yet) and set a goal met, not met, dropped or active again. The API's
serializers and services (`recovery.api.plan`, `recovery.api.goals`,
`recovery.services.plan`), its access rules and audit; Post/Redirect/Get as in
`recovery.web.patient_actions`."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from backend.errors import ServiceError
from recovery.api.goals import StatusSerializer
from recovery.api.plan import GoalInputSerializer
from recovery.models import GoalStatus
from recovery.selectors.access import visible_enrollment
from recovery.selectors.plan import goals_visible_to, plans_visible_to
from recovery.services import plan as plan_services
from recovery.web import present
from recovery.web.patient_actions import _chosen, _done, _refused, _service_errors
from recovery.web.views import _user, staff_required


@require_POST
@staff_required
def add_goal(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    plan = plans_visible_to(user).filter(enrollment=enrollment).first()
    serializer = GoalInputSerializer(
        data=_chosen(request.POST), context={"enrollment": enrollment, "plan": plan}
    )
    if not serializer.is_valid():
        return _refused(request, enrollment, "goal", serializer.errors)
    goal = serializer.to_goal()
    try:
        if plan is None:
            plan_services.plan_create(enrollment=enrollment, actor=user, goals=[goal])
        else:
            plan_services.goal_add(plan=plan, actor=user, goal=goal)
    except ServiceError as exc:
        errors = _service_errors(exc)
        # plan_create names a goal's fields "goals.0.<field>": this form has one goal.
        errors = {key.removeprefix("goals.0."): value for key, value in errors.items()}
        return _refused(request, enrollment, "goal", errors)
    return _done(request, enrollment, "Goal added to the treatment plan.", "plan")


@require_POST
@staff_required
def set_goal_status(request: HttpRequest, pk: int, goal_id: int) -> HttpResponse:
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    goal = (
        goals_visible_to(user)
        .filter(id=goal_id, plan__enrollment=enrollment)
        .select_related("plan__enrollment")
        .first()
    )
    if goal is None:
        raise Http404
    serializer = StatusSerializer(data=_chosen(request.POST), context={"goal": goal})
    if not serializer.is_valid():
        return _refused(request, enrollment, "goal_status", serializer.errors)
    try:
        goal = plan_services.goal_status_set(goal=goal, actor=user, **serializer.validated_data)
    except ServiceError as exc:
        return _refused(request, enrollment, "goal_status", _service_errors(exc))
    status = present.label(GoalStatus, goal.status).lower()
    return _done(request, enrollment, f"Goal marked {status}.", "plan")
