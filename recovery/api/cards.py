"""Read shapes the schema documents where more than one endpoint answers with them: the
support contact card (urge button, safety plan) and the safety plan itself (its own
endpoint and the urge button). They describe what the selectors write; nothing is
validated through them."""

from __future__ import annotations

from rest_framework import serializers

from recovery.models import PlanSection, Relationship, Role


class ContactCardSerializer(serializers.Serializer):
    """A support contact as the urge button offers it, in the patient's order."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    relationship = serializers.ChoiceField(choices=Relationship.choices)
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    reachable_hours = serializers.CharField(allow_blank=True)
    position = serializers.IntegerField()


class PlanPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class PlanExerciseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    summary = serializers.CharField()
    duration_minutes = serializers.IntegerField()


class PlanItemReadSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True)
    response = serializers.CharField(allow_blank=True)
    exercise = PlanExerciseSerializer(allow_null=True)
    contact = ContactCardSerializer(allow_null=True)


class PlanSectionReadSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=PlanSection.choices)
    title = serializers.CharField()
    items = PlanItemReadSerializer(many=True)


class SafetyPlanReadSerializer(serializers.Serializer):
    """recovery.selectors.safety_plan.safety_plan_view: every section, in reading order."""

    version = serializers.IntegerField(help_text="0 until the plan is first saved.")
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = PlanPersonSerializer(allow_null=True)
    sections = PlanSectionReadSerializer(many=True)
