from django.contrib import admin

from notifications.models import Device, Notification, PeriodicJobRun


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "platform", "address_kind", "is_active", "last_seen_at"]
    list_filter = ["platform", "address_kind", "is_active"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "kind", "state", "due_at", "attempts", "sent_at"]
    list_filter = ["kind", "state"]
    readonly_fields = ["channel_results", "lease_token", "leased_until"]


@admin.register(PeriodicJobRun)
class PeriodicJobRunAdmin(admin.ModelAdmin):
    list_display = ["name", "started_at", "finished_at", "succeeded_started_at", "last_error"]
