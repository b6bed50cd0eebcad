from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from modeltranslation.manager import MultilingualManager

from recovery.encryption import EncryptedTextField
from recovery.models.accounts import Program
from recovery.models.enrollment import Enrollment


class ExerciseCategory(models.TextChoices):
    MINDFULNESS = "mindfulness", "Mindfulness"
    BREATHING = "breathing", "Breathing and relaxation"
    GROUNDING = "grounding", "Grounding"
    COGNITIVE = "cognitive", "Cognitive"
    BEHAVIORAL = "behavioral", "Behavioral"
    CONNECTION = "connection", "Connection"


class Exercise(models.Model):
    """A coping skill. `program` is NULL for the shared evidence-based library."""

    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.CASCADE, related_name="exercises"
    )
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=16, choices=ExerciseCategory.choices)
    summary = models.CharField(max_length=500)
    steps = models.JSONField(default=list)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    evidence = models.CharField(max_length=200, blank=True)

    # Declared, not patched in at start-up, so type checkers know it: queries on the texts
    # (recovery/translation.py) go to the active language's columns.
    objects = MultilingualManager["Exercise"]()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "slug"], name="uniq_exercise_slug"),
        ]

    def __str__(self) -> str:
        return self.name


class ExerciseAssignment(models.Model):
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="exercise_assignments"
    )
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-assigned_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "exercise"], name="uniq_assignment"),
        ]


class ExercisePractice(models.Model):
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="exercise_practices"
    )
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="+")
    craving_before = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    craving_after = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    helpfulness = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    note = EncryptedTextField(max_length=2000, blank=True)
    practiced_at = models.DateTimeField()

    class Meta:
        ordering = ["-practiced_at", "-id"]


class FavoriteExercise(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="favorites")
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "exercise"], name="uniq_favorite"),
        ]
