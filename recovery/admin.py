"""Django admin for program staff: programs, staff, patients and the exercise library."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from modeltranslation.admin import TranslationAdmin

from recovery.models import (
    CareTeamMember,
    CheckInSchedule,
    Enrollment,
    EnrollmentChange,
    Exercise,
    Flag,
    FlagEvent,
    Program,
    ProgramRetentionPolicy,
    SessionSeries,
    TreatmentSession,
    User,
)


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "required_hours_per_week", "days_per_week"]
    search_fields = ["name"]


@admin.register(ProgramRetentionPolicy)
class ProgramRetentionPolicyAdmin(admin.ModelAdmin):
    """Years a program keeps a discharged patient's records (at least six); the daily
    retention job deletes what expired (recovery/services/retention.py)."""

    list_display = ["program", "checkins_years", "notifications_years", "audit_years"]
    readonly_fields = ["updated_by", "updated_at"]

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "program", "is_active"]
    list_filter = ["role", "program", "is_active"]
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Program", {"fields": ("role", "program")}))


class CareTeamInline(admin.TabularInline):
    model = CareTeamMember
    extra = 0


class ChangeInline(admin.TabularInline):
    model = EnrollmentChange
    extra = 0
    readonly_fields = ["field", "old_value", "new_value", "reason", "changed_by", "changed_at"]
    can_delete = False


class ScheduleInline(admin.StackedInline):
    model = CheckInSchedule
    extra = 0
    readonly_fields = ["next_due_at", "next_window_date", "consecutive_missed"]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["id", "patient", "program", "stage", "level_of_care", "status", "start_date"]
    list_filter = ["program", "stage", "level_of_care", "status"]
    inlines = [CareTeamInline, ScheduleInline, ChangeInline]
    raw_id_fields = ["patient", "primary_counselor"]


@admin.register(Exercise)
class ExerciseAdmin(TranslationAdmin):
    """Each text in English and Spanish (recovery/translation.py)."""

    list_display = ["name", "category", "duration_minutes", "program"]
    list_filter = ["category", "program"]
    search_fields = ["name", "summary"]


class FlagEventInline(admin.TabularInline):
    model = FlagEvent
    extra = 0
    can_delete = False
    readonly_fields = ["action", "actor", "note", "at"]


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["id", "enrollment", "kind", "severity", "status", "created_at"]
    list_filter = ["kind", "severity", "status"]
    inlines = [FlagEventInline]


@admin.register(TreatmentSession)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "program", "starts_at", "status"]
    list_filter = ["kind", "program", "status"]


@admin.register(SessionSeries)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "program", "rrule", "start_date", "start_time"]
