from django.urls import path

from recovery.api import audit, privacy

urlpatterns = [
    path("audit/", audit.AuditTrail.as_view(), name="audit-trail"),
    path("me/access-log/", audit.MyAccessLog.as_view(), name="my-access-log"),
    path("me/disclosures/", privacy.MyDisclosures.as_view(), name="my-disclosures"),
    path("me/export/", privacy.MyExport.as_view(), name="my-export"),
    path("me/export/fhir/", privacy.MyFhirExport.as_view(), name="my-export-fhir"),
    path("consents/", privacy.ConsentList.as_view(), name="consents"),
    path("consents/<int:pk>/revoke/", privacy.ConsentRevoke.as_view(), name="consent-revoke"),
]
