from django.urls import path
from rest_framework_simplejwt.views import TokenRefreshView

from recovery.api import accounts, care, checkins, flags, patients, sessions

urlpatterns = [
    path("auth/token/", accounts.ThrottledLogin.as_view(), name="token"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", accounts.Logout.as_view(), name="logout"),
    path("auth/enrollment-code/", accounts.RedeemEnrollmentCode.as_view(), name="redeem-code"),
    path("me/", accounts.Me.as_view(), name="me"),
    path("me/checkin-schedule/", checkins.MyCheckInSchedule.as_view(), name="my-schedule"),
    path("me/support/", care.SupportView.as_view(), name="my-support"),
    path("me/favorites/", care.FavoriteList.as_view(), name="my-favorites"),
    path("checkins/", checkins.CheckInListCreate.as_view(), name="checkins"),
    path("checkins/<uuid:checkin_id>/", checkins.CheckInDetail.as_view(), name="checkin-detail"),
    path("urges/", checkins.UrgeList.as_view(), name="urges"),
    path("exercises/", care.ExerciseList.as_view(), name="exercises"),
    path("exercises/<int:pk>/", care.ExerciseDetail.as_view(), name="exercise-detail"),
    path("exercises/<int:pk>/favorite/", care.FavoriteView.as_view(), name="exercise-favorite"),
    path("practices/", care.PracticeList.as_view(), name="practices"),
    path("assignments/", care.AssignmentList.as_view(), name="assignments"),
    path("assignments/<int:pk>/", care.AssignmentDetail.as_view(), name="assignment-detail"),
    path("contacts/", care.ContactList.as_view(), name="contacts"),
    path("contacts/reorder/", care.ContactReorder.as_view(), name="contacts-reorder"),
    path("contacts/<int:pk>/", care.ContactDetail.as_view(), name="contact-detail"),
    path("patients/", patients.PatientList.as_view(), name="patients"),
    path("patients/<int:pk>/", patients.PatientDetail.as_view(), name="patient-detail"),
    path("patients/<int:pk>/change/", patients.PatientChange.as_view(), name="patient-change"),
    path("patients/<int:pk>/history/", patients.PatientHistory.as_view(), name="patient-history"),
    path(
        "patients/<int:pk>/discharge/",
        patients.PatientDischarge.as_view(),
        name="patient-discharge",
    ),
    path("patients/<int:pk>/enrollment-code/", patients.PatientCode.as_view(), name="patient-code"),
    path(
        "patients/<int:pk>/checkin-schedule/",
        patients.PatientSchedule.as_view(),
        name="patient-schedule",
    ),
    path(
        "patients/<int:pk>/timeline/", patients.PatientTimeline.as_view(), name="patient-timeline"
    ),
    path("attendance/summary/", patients.AttendanceSummary.as_view(), name="attendance-summary"),
    path("sessions/", sessions.SessionList.as_view(), name="sessions"),
    path("sessions/<int:pk>/", sessions.SessionDetail.as_view(), name="session-detail"),
    path("sessions/<int:pk>/cancel/", sessions.SessionCancel.as_view(), name="session-cancel"),
    path(
        "sessions/<int:pk>/attendance/",
        sessions.SessionAttendance.as_view(),
        name="session-attendance",
    ),
    path("series/", sessions.SeriesList.as_view(), name="series"),
    path(
        "series/<int:pk>/cancel-rest/",
        sessions.SeriesCancelRest.as_view(),
        name="series-cancel-rest",
    ),
    path("series/<int:pk>/move-rest/", sessions.SeriesMoveRest.as_view(), name="series-move-rest"),
    path("dashboard/caseload/", flags.Caseload.as_view(), name="caseload"),
    path("flags/", flags.FlagList.as_view(), name="flags"),
    path("flags/<int:pk>/", flags.FlagDetail.as_view(), name="flag-detail"),
    path("flags/<int:pk>/acknowledge/", flags.FlagAcknowledge.as_view(), name="flag-acknowledge"),
    path("flags/<int:pk>/assign/", flags.FlagAssign.as_view(), name="flag-assign"),
    path("flags/<int:pk>/resolve/", flags.FlagResolve.as_view(), name="flag-resolve"),
    path("flags/<int:pk>/reopen/", flags.FlagReopen.as_view(), name="flag-reopen"),
]
