"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from notifications.consumers import EventsConsumer  # noqa: E402
from notifications.origin import NativeOrAllowedOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": NativeOrAllowedOriginValidator(
            URLRouter([path("ws/events/", EventsConsumer.as_asgi())])
        ),
    }
)
