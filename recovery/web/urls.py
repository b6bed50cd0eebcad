"""URLs of the dashboard, mounted at /dashboard/ by backend/urls.py."""

from django.urls import path

from recovery.web import (
    actions,
    audit,
    calendar_edit,
    enrollment,
    flag_history,
    incentives,
    patient_actions,
    program_settings,
    reports,
    staff,
    unread,
    views,
)

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
    path("flags/<int:pk>/reopen/", actions.flag_reopen, name="flag-reopen"),
    path("flags/resolved/", flag_history.flag_history_page, name="flag-history"),
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
    path("unread/", unread.unread_counts, name="unread-counts"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("calendar/new/", calendar_edit.session_new_page, name="session-new"),
    path(
        "sessions/<int:session_id>/change/",
        calendar_edit.session_change_page,
        name="session-change",
    ),
    path(
        "sessions/<int:session_id>/attendance/",
        actions.attendance_mark,
        name="attendance-mark",
    ),
    path("incentives/", incentives.incentive_report_page, name="incentives"),
    path("incentives.csv", incentives.incentive_report_download, name="incentives-csv"),
    path("settings/", program_settings.program_settings_page, name="settings"),
    path("staff/", staff.staff_page, name="staff"),
    path("staff/invite/", staff.staff_invite, name="staff-invite"),
    path("staff/<int:pk>/", staff.staff_member_page, name="staff-member"),
    path("staff/<int:pk>/deactivate/", staff.staff_deactivate, name="staff-deactivate"),
    path("staff/<int:pk>/reactivate/", staff.staff_reactivate, name="staff-reactivate"),
    path(
        "staff/invitations/<int:pk>/reissue/",
        staff.invitation_reissue,
        name="staff-invitation-reissue",
    ),
    path(
        "staff/invitations/<int:pk>/revoke/",
        staff.invitation_revoke,
        name="staff-invitation-revoke",
    ),
    path("invitation/<str:token>/", staff.accept_invitation, name="staff-accept"),
    path("patients/<int:pk>/care-team/", staff.care_team_page, name="care-team"),
    path("patients/new/", enrollment.enroll_page, name="patient-enroll"),
    path(
        "patients/<int:pk>/enrollment/",
        enrollment.enrollment_page,
        name="patient-enrollment",
    ),
    path("patients/<int:pk>/enrollment/code/", enrollment.code_issue, name="patient-code"),
    path(
        "patients/<int:pk>/enrollment/discharge/",
        enrollment.discharge,
        name="patient-discharge",
    ),
    path("patients/<int:pk>/enrollment/readmit/", enrollment.readmit, name="patient-readmit"),
    path("audit/", audit.audit_trail_page, name="audit-trail"),
    path("audit.csv", audit.audit_trail_download, name="audit-trail-csv"),
    path("reports/", reports.reports_page, name="reports"),
    path("reports/<slug:name>.csv", reports.report_download, name="report-csv"),
    path("assets/<path:path>", views.asset, name="asset"),
]
