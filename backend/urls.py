from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backend.health import healthz, readyz
from backend.metrics_http import metrics_view
from notifications.protocol import asyncapi_document

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/asyncapi/", asyncapi_document, name="asyncapi"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("dashboard/", include("recovery.web.urls")),
    path("api/v1/", include("recovery.urls")),
    path("api/v1/", include("recovery.urls_plan")),
    path("api/v1/", include("recovery.urls_privacy")),
    path("api/v1/", include("recovery.urls_incentives")),
    path("api/v1/", include("recovery.urls_reports")),
    path("api/v1/", include("notifications.urls")),
]

handler404 = "backend.api.not_found"
handler500 = "backend.api.server_error"
