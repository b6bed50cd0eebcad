"""URLs of the treatment plan, peer support, drug screens and medications (issue 9)."""

from django.urls import path

from recovery.api import goals, medications, monitoring, plan, screens, suggestion

urlpatterns = [
    path("plans/", plan.PlanList.as_view(), name="plans"),
    path("plans/<int:pk>/", plan.PlanDetail.as_view(), name="plan-detail"),
    path("plans/<int:pk>/goals/", plan.PlanGoals.as_view(), name="plan-goals"),
    path("plans/<int:pk>/comments/", plan.PlanComments.as_view(), name="plan-comments"),
    path("plans/<int:pk>/review/", plan.PlanReviewView.as_view(), name="plan-review"),
    path("goals/<int:pk>/", goals.GoalDetail.as_view(), name="goal-detail"),
    path("goals/<int:pk>/status/", goals.GoalStatusView.as_view(), name="goal-status"),
    path("goals/<int:pk>/revise/", goals.GoalReviseView.as_view(), name="goal-revise"),
    path("goals/<int:pk>/progress/", goals.GoalProgressList.as_view(), name="goal-progress"),
    path(
        "patients/<int:pk>/suggestion/",
        suggestion.PatientSuggestion.as_view(),
        name="patient-suggestion",
    ),
    path(
        "patients/<int:pk>/suggestion/dismiss/",
        suggestion.PatientSuggestionDismiss.as_view(),
        name="patient-suggestion-dismiss",
    ),
    path(
        "dashboard/monitoring/",
        monitoring.MonitoringCaseload.as_view(),
        name="monitoring-caseload",
    ),
    path("meetings/", monitoring.MeetingList.as_view(), name="meetings"),
    path("meetings/weekly/", monitoring.MeetingWeekly.as_view(), name="meetings-weekly"),
    path("meetings/<int:pk>/", monitoring.MeetingDetail.as_view(), name="meeting-detail"),
    path("screens/", screens.ScreenList.as_view(), name="screens"),
    path("screens/<int:pk>/", screens.ScreenDetail.as_view(), name="screen-detail"),
    path("screens/<int:pk>/correct/", screens.ScreenCorrect.as_view(), name="screen-correct"),
    path("medications/", medications.MedicationList.as_view(), name="medications"),
    path(
        "medications/adherence/",
        medications.MedicationAdherence.as_view(),
        name="medication-adherence",
    ),
    path("medications/<int:pk>/", medications.MedicationDetail.as_view(), name="medication-detail"),
    path(
        "monitoring-settings/",
        monitoring.MonitoringSettingsView.as_view(),
        name="monitoring-settings",
    ),
]
