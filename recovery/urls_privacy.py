from django.urls import path

from recovery.api import audit

urlpatterns = [
    path("audit/", audit.AuditTrail.as_view(), name="audit-trail"),
    path("me/access-log/", audit.MyAccessLog.as_view(), name="my-access-log"),
]
