"""URLs of contingency management (issue 18)."""

from django.urls import path

from recovery.api import incentives

urlpatterns = [
    path(
        "incentives/settings/",
        incentives.IncentiveSettingsView.as_view(),
        name="incentive-settings",
    ),
    path("incentive-protocols/", incentives.ProtocolList.as_view(), name="incentive-protocols"),
    path(
        "incentive-protocols/<int:pk>/end/",
        incentives.ProtocolEnd.as_view(),
        name="incentive-protocol-end",
    ),
    path("incentives/catalogue/", incentives.CatalogueList.as_view(), name="incentive-catalogue"),
    path(
        "patients/<int:pk>/incentives/",
        incentives.PatientIncentives.as_view(),
        name="patient-incentives",
    ),
    path(
        "patients/<int:pk>/redemptions/",
        incentives.PatientRedemptions.as_view(),
        name="patient-redemptions",
    ),
    path("incentives/report/", incentives.IncentiveReport.as_view(), name="incentive-report"),
    path(
        "incentives/report/csv/",
        incentives.IncentiveReportCsv.as_view(),
        name="incentive-report-csv",
    ),
    path("me/incentives/", incentives.MyIncentives.as_view(), name="my-incentives"),
]
