"""Spanish: every string marked for translation has a Spanish text in the compiled catalog,
and a request's Accept-Language picks the language of what it gets back."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import translation

from recovery.exercise_library import LIBRARY, SPANISH, TRANSLATED_FIELDS
from recovery.models import Exercise
from recovery.services.messages import message_send
from tests.conftest import client_for

ROOT = Path(settings.BASE_DIR)
PACKAGES = ("backend", "notifications", "recovery")
SINGULAR = {"_", "gettext", "gettext_lazy", "gettext_noop"}
PLURAL = {"ngettext", "ngettext_lazy"}
CONTEXT = {"pgettext", "pgettext_lazy"}


def _marked() -> list[tuple[str, str | None, str | None, str]]:
    """(msgid, plural, context, where) of every literal marked in the apps' code."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                texts = [a.value for a in node.args if isinstance(a, ast.Constant)]
                if not texts or not all(isinstance(t, str) for t in texts):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if name in SINGULAR:
                    found.append((texts[0], None, None, where))
                elif name in PLURAL and len(texts) >= 2:
                    found.append((texts[0], texts[1], None, where))
                elif name in CONTEXT and len(texts) >= 2:
                    found.append((texts[1], None, texts[0], where))
    return found


MARKED = _marked()


def test_the_walk_finds_the_marked_strings():
    assert len(MARKED) >= 30
    assert any(m[0] == "Warning signs" for m in MARKED)


@pytest.mark.parametrize(
    ("msgid", "plural", "context", "where"), MARKED, ids=[m[3] for m in MARKED]
)
def test_every_marked_string_has_spanish(msgid, plural, context, where):
    with translation.override("es"):
        if plural is not None:
            texts = [translation.ngettext(msgid, plural, n) for n in (1, 2)]
            assert texts[0] != msgid, f"{where}: no Spanish for {msgid!r}"
            assert texts[1] != plural, f"{where}: no Spanish plural for {plural!r}"
        elif context is not None:
            assert translation.pgettext(context, msgid) != msgid, f"{where}: no Spanish"
        else:
            assert translation.gettext(msgid) != msgid, f"{where}: no Spanish for {msgid!r}"


def _po_entries() -> list[tuple[str | None, str, str]]:
    """(context, msgid, msgstr) of the singular entries of the Spanish .po."""
    text = (ROOT / "locale/es/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    entries = []
    for block in text.split("\n\n")[1:]:
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) (\".*\")$", line)
            if match:
                key = match.group(1)
                fields[key] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
        if "msgid" in fields and "msgstr" in fields:
            entries.append((fields.get("msgctxt"), fields["msgid"], fields["msgstr"]))
    return entries


def test_the_compiled_catalog_is_the_po_file():
    """The committed .mo is what the .po says: recompile after editing a translation."""
    entries = _po_entries()
    assert entries
    with translation.override("es"):
        for context, msgid, msgstr in entries:
            got = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
            assert got == msgstr, f"stale django.mo for {msgid!r}: run compilemessages"


@pytest.mark.django_db
def test_a_spanish_patient_gets_spanish_errors_and_texts_whatever_the_device_says(enrollment):
    enrollment.language = "es"
    enrollment.save()
    response = client_for(enrollment.patient).put(
        "/api/v1/me/safety-plan/",
        {"base_version": 0, "sections": {"warning_signs": [{"text": " "}]}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["warning_signs.0"] == [
        "Escribe algo, o enlaza un ejercicio o un contacto."
    ]
    spanish = client_for(enrollment.patient).get(
        "/api/v1/me/safety-plan/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert spanish.json()["sections"][0]["title"] == "Señales de alerta"
    assert spanish["Content-Language"] == "es"


@pytest.mark.django_db
def test_an_english_patient_gets_english_on_a_spanish_device(enrollment):
    response = client_for(enrollment.patient).get(
        "/api/v1/me/safety-plan/", HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9"
    )
    assert response.json()["sections"][0]["title"] == "Warning signs"


@pytest.mark.django_db
def test_accept_language_picks_for_those_without_a_profile_language(enrollment, counselor):
    english = client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/safety-plan/")
    assert english.json()["sections"][0]["title"] == "Warning signs"
    spanish = client_for(counselor).get(
        f"/api/v1/patients/{enrollment.id}/safety-plan/",
        HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9,en;q=0.5",
    )
    assert spanish.json()["sections"][0]["title"] == "Señales de alerta"
    assert spanish["ETag"] != english["ETag"]


@pytest.mark.django_db
def test_the_automatic_answer_in_spanish_names_the_opening_in_spanish(enrollment):
    enrollment.language = "es"
    enrollment.save()
    saturday_night = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    # The patient's language, not the connection's that sent it.
    with time_machine.travel(saturday_night, tick=False), translation.override("en"):
        answer = message_send(enrollment=enrollment, sender=enrollment.patient, body="Hola")
    assert answer.automatic_answer is not None
    body = answer.automatic_answer.body
    assert "a partir del lunes 9 de marzo, 09:00 EDT" in body
    assert "988" in body
    assert "1-800-662-4357" in body


def test_the_library_and_its_spanish_have_the_same_exercises_and_shapes():
    english = {str(entry["slug"]): entry for entry in LIBRARY}
    assert set(SPANISH) == set(english)
    for slug, texts in SPANISH.items():
        assert set(texts) == set(TRANSLATED_FIELDS), slug
        assert len(texts["steps"]) == len(english[slug]["steps"]), slug  # type: ignore[arg-type]


@pytest.mark.django_db
def test_every_built_in_exercise_has_spanish_texts():
    """The shared library as the migrations left it: a built-in exercise missing any
    Spanish text (or one step of it) fails here."""
    built_in = Exercise.objects.filter(program=None)
    assert built_in.count() == len(LIBRARY)
    for exercise in built_in:
        for field in TRANSLATED_FIELDS:
            english, spanish = getattr(exercise, f"{field}_en"), getattr(exercise, f"{field}_es")
            assert english, f"{exercise.slug}: no English {field}"
            assert spanish, f"{exercise.slug}: no Spanish {field}"
            if field == "steps":
                assert len(spanish) == len(english), f"{exercise.slug}: a step has no Spanish"
                assert all(step.strip() for step in spanish), exercise.slug
        assert exercise.name_es != exercise.name_en, f"{exercise.slug}: name not translated"
