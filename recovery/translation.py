"""Model texts that patients read, in each of settings.LANGUAGES (django-modeltranslation
adds a `name_en`, `name_es`... column per field and reads `name` in the active language,
falling back to English)."""

from __future__ import annotations

from modeltranslation.translator import TranslationOptions, register

from recovery.models import Exercise


@register(Exercise)
class ExerciseTranslationOptions(TranslationOptions):
    fields = ("name", "summary", "steps", "evidence")
