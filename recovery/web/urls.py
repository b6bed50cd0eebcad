"""URLs of the dashboard, mounted at /dashboard/ by backend/urls.py."""

from django.urls import path

from recovery.web import actions, incentives, patient_actions, program_settings, views

app_name = "dashboard"

urlpatterns = [
    path("", views.caseload_page, name="caseload"),
    path("login/", views.DashboardLoginView.as_view(), name="login"),
    path("logout/", views.DashboardLogoutView.as_view(), name="logout"),
    path("token/", views.socket_token, name="socket-token"),
    path("flags/", views.flag_queue_page, name="flags"),
    path("flags/<int:pk>/row/", views.flag_row, name="flag-row"),
    path("flags/<int:pk>/acknowledge/", actions.flag_acknowledge, name="flag-acknowledge"),
    path("flags/<int:pk>/assign/", actions.flag_assign, name="flag-assign"),
    path("flags/<int:pk>/resolve/", actions.flag_resolve, name="flag-resolve"),
    path("patients/<int:pk>/", views.patient_page, name="patient"),
    path(
        "patients/<int:pk>/exercises/",
        patient_actions.assign_exercise,
        name="patient-assign-exercise",
    ),
    path("patients/<int:pk>/schedule/", patient_actions.set_schedule, name="patient-schedule"),
    path("patients/<int:pk>/screens/", patient_actions.record_screen, name="patient-screen"),
    path("patients/<int:pk>/care/", patient_actions.change_care, name="patient-care"),
    path(
        "patients/<int:pk>/medications/",
        patient_actions.add_medication,
        name="patient-medication-add",
    ),
    path(
        "patients/<int:pk>/medications/<int:medication_id>/end/",
        patient_actions.end_medication,
        name="patient-medication-end",
    ),
    path(
        "patients/<int:pk>/suggestion/dismiss/",
        patient_actions.dismiss_suggestion,
        name="patient-suggestion-dismiss",
    ),
    path("calendar/", views.calendar_page, name="calendar"),
    path(
        "sessions/<int:session_id>/attendance/",
        actions.attendance_mark,
        name="attendance-mark",
    ),
    path("incentives/", incentives.incentive_report_page, name="incentives"),
    path("incentives.csv", incentives.incentive_report_download, name="incentives-csv"),
    path("settings/", program_settings.program_settings_page, name="settings"),
    path("assets/<path:path>", views.asset, name="asset"),
]
