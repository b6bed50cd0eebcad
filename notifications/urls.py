from django.urls import path

from notifications import api

urlpatterns = [
    path("devices/", api.DeviceRegister.as_view(), name="devices"),
    path("devices/unregister/", api.DeviceUnregister.as_view(), name="devices-unregister"),
    path("notifications/", api.Inbox.as_view(), name="inbox"),
    path("notifications/unread-count/", api.UnreadCount.as_view(), name="inbox-unread"),
    path("notifications/preferences/", api.Preferences.as_view(), name="notification-preferences"),
    path("notifications/<int:pk>/", api.InboxItem.as_view(), name="inbox-item"),
    path("notifications/<int:pk>/read/", api.MarkRead.as_view(), name="inbox-read"),
    path("notifications/<int:pk>/received/", api.MarkReceived.as_view(), name="inbox-received"),
]
