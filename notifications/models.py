"""Delivery: devices, the notification outbox (which is also the inbox), preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Platform(models.TextChoices):
    ANDROID = "android", "Android"
    IOS = "ios", "iOS"
    WEB = "web", "Web"


class AddressKind(models.TextChoices):
    """FCM is moving from registration tokens to Firebase Installation IDs."""

    TOKEN = "token", "FCM registration token"
    FID = "fid", "Firebase Installation ID"


class Device(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices"
    )
    address = models.CharField(max_length=4096)
    address_kind = models.CharField(max_length=8, choices=AddressKind.choices)
    platform = models.CharField(max_length=8, choices=Platform.choices)
    app_version = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)
    deactivated_reason = models.CharField(max_length=64, blank=True)
    last_seen_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address_kind", "address"], name="uniq_device_address")
        ]
        indexes = [models.Index(fields=["user", "is_active"])]


class Channel(models.TextChoices):
    APP = "app", "App (websocket, push, inbox)"
    EMAIL = "email", "Email (composed by the kind at the moment of sending)"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Notification(models.Model):
    """One message to one person: the outbox row the dispatcher sends, and the inbox entry
    the app reads. `payload` may hold clinical detail; it only travels over authenticated
    channels (the API and the user's websocket), never in a push."""

    # An app user; none for an email to someone outside the system (the kind's email
    # hook names the address when it composes the message).
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.APP)
    # A kind registered by the app that sends it (notifications.kinds), not a fixed list.
    kind = models.CharField(max_length=32)
    topic = models.CharField(max_length=120, blank=True, db_index=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    urgent = models.BooleanField(default=False)
    push = models.BooleanField(default=True)  # False: websocket and inbox only
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=1000)
    payload = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    channel_results = models.JSONField(default=dict, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the message reached the device, as the app confirms it, per channel: the
    # websocket ack (which also stops replays) and the receipt of a push. `received_at` is
    # the first of them. Separate columns from `channel_results`, which the dispatcher
    # writes in bulk from its own copy: a receipt may arrive before that write.
    acked_at = models.DateTimeField(null=True, blank=True)
    push_received_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel="email") | Q(recipient__isnull=False),
                name="notification_app_has_recipient",
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="notification_pending_due_idx",
                condition=Q(state="pending"),
            ),
            models.Index(
                fields=["leased_until"],
                name="notification_lease_idx",
                condition=Q(state="sending"),
            ),
            models.Index(fields=["recipient", "id"]),
        ]


class AppPresence(models.Model):
    """When the app was last heard from: an authenticated API request with the app's token,
    websocket activity or a receipt. Written at most once per APP_HEARD_RESOLUTION_SECONDS
    per user (notifications.presence), so it costs no write per request."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="app_presence",
    )
    last_heard_at = models.DateTimeField()
    # The silence (its start: the `last_heard_at` it began from) already nudged to open
    # the app, so a silence gets one nudge however long it lasts.
    nudged_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["last_heard_at"], name="app_presence_heard_idx")]


class NotificationPreference(models.Model):
    """Per-user opt-outs by kind and quiet hours in the user's local time."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    muted_kinds = models.JSONField(default=list, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # The language generic push titles and bodies are written in ("": the server's default).
    language = models.CharField(max_length=8, blank=True, default="")


class PeriodicJobRun(models.Model):
    """When each periodic job last ran, written by whoever actually runs it (the worker in
    the Celery mode, not the scheduler that enqueues), so a restarted scheduler catches up
    from the last real run and a lost enqueue never counts as one."""

    name = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField()  # the latest attempt
    finished_at = models.DateTimeField(null=True, blank=True)  # null while running or if it died
    succeeded_started_at = models.DateTimeField(null=True, blank=True)  # latest complete run
    last_error = models.CharField(max_length=200, blank=True)  # an exception type, never data

    def __str__(self) -> str:
        return self.name
