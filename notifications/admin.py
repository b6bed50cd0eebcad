from django.contrib import admin

from notifications.models import AppPresence, Device, Notification, PeriodicJobRun


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "platform", "address_kind", "is_active", "last_seen_at"]
    list_filter = ["platform", "address_kind", "is_active"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "recipient",
        "kind",
        "state",
        "due_at",
        "attempts",
        "sent_at",
        "received_at",
    ]
    list_filter = ["kind", "state"]
    readonly_fields = [
        "channel_results",
        "lease_token",
        "leased_until",
        "acked_at",
        "push_received_at",
        "received_at",
    ]


@admin.register(AppPresence)
class AppPresenceAdmin(admin.ModelAdmin):
    list_display = ["user", "last_heard_at", "nudged_for"]
    readonly_fields = ["user", "last_heard_at", "nudged_for"]


@admin.register(PeriodicJobRun)
class PeriodicJobRunAdmin(admin.ModelAdmin):
    list_display = ["name", "started_at", "finished_at", "succeeded_started_at", "last_error"]
