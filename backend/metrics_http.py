"""HTTP side of the metrics: the request middleware and the protected /metrics endpoint.

/metrics is off (404) until METRICS_TOKEN or METRICS_ALLOWED_IPS is set. With a token,
a scrape must send `Authorization: Bearer <token>`; with an allow-list, it must come from
one of those networks (the client address by TRUSTED_PROXY_COUNT, backend/client_ip.py);
with both, both. It lives outside /api/ and never appears in the OpenAPI schema.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from backend import metrics
from backend.client_ip import client_ip


class MetricsMiddleware:
    """Counts and times every request by its URL pattern (never the path: paths hold ids)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = (match.route or match.view_name or "unnamed") if match else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        metrics.HTTP_LATENCY.labels(method=method, route=route).observe(
            time.perf_counter() - started
        )
        metrics.HTTP_REQUESTS.labels(
            method=method, route=route, status=str(response.status_code)
        ).inc()
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _ThisProcess(Collector):
    """The default registry's metrics, for a single process (no multiprocess directory)."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


@cache
def scrape_registry() -> CollectorRegistry:
    """What /metrics exposes: every process's metrics and the database's gauges."""
    from backend.metrics_database import DatabaseCollector

    registry = CollectorRegistry(auto_describe=False)
    if metrics.MULTIPROCESS_DIR:
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    return registry


def _allowed(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    networks: list[str] = settings.METRICS_ALLOWED_IPS
    if not token and not networks:
        return False
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return False
    if networks:
        address = client_ip(request)
        if address is None:
            return False
        ip = ipaddress.ip_address(address)
        if not any(ip in ipaddress.ip_network(net, strict=False) for net in networks):
            return False
    return True


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    # 404, not 401/403: a scanner learns nothing about what is here.
    if not _allowed(request):
        raise Http404
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
